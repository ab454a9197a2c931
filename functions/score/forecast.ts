// Time-to-limit forecasting: exponentially weighted least-squares lines through recent samples
// (value against time), projected to the series' limit (memory limit, allocatable CPU, disk size).
// A fitted slope only counts when it is statistically clear (|t| over a bound) and the projection
// lands inside the horizon, so noise around a flat line never predicts a breach.
// Two fits run side by side: a slow one (half-life 20 samples), steady on noisy series, and a fast
// one (half-life 6 samples) that sees a trend which just began (a leak, a disk filling) while the
// slow one's window still holds the flat past — which bends its line flat, predicting the breach
// late or after the fact. Either counts when its slope is clear; the earlier breach wins.
// A third fit, plain least squares over the last RING_POINTS samples themselves, sees a new slope
// exactly once that many samples are past the kink — where an exponential fit still weighs the
// flat past. Usage that grows smoothly (a leak, a filling disk) is predicted minutes earlier and
// within a minute of the truth instead of several; on noisy series it must clear twice the t-bound.

export interface ForecastState {
  /** Weighted sums for the slow regression, time in seconds relative to t0. */
  w: number;
  sx: number;
  sy: number;
  sxx: number;
  sxy: number;
  syy: number;
  t0: number;
  /** Last value and its time (s since t0). */
  last: number;
  lastX: number;
  /** The same sums for the fast regression. */
  fw: number;
  fsx: number;
  fsy: number;
  fsxx: number;
  fsxy: number;
  fsyy: number;
  /** The last RING_POINTS samples, oldest first, as x (s since t0), value pairs. */
  ring: number[];
}

export function newForecast(): ForecastState {
  return {
    w: 0,
    sx: 0,
    sy: 0,
    sxx: 0,
    sxy: 0,
    syy: 0,
    t0: 0,
    last: Number.NaN,
    lastX: 0,
    fw: 0,
    fsx: 0,
    fsy: 0,
    fsxx: 0,
    fsxy: 0,
    fsyy: 0,
    ring: [],
  };
}

export interface Forecast {
  /** Slope in units per second. */
  readonly slope: number;
  /** t-statistic of the slope. */
  readonly tStat: number;
  /** Seconds until the fitted line reaches the limit (Infinity when it never does). */
  readonly secondsToLimit: number;
  /** Samples' effective count behind the fit. */
  readonly weight: number;
}

/** Half-lives of the two fits, in samples. */
export const SLOW_HALF_LIFE = 20;
export const FAST_HALF_LIFE = 6;
const SLOW_DECAY = Math.pow(0.5, 1 / SLOW_HALF_LIFE);
const FAST_DECAY = Math.pow(0.5, 1 / FAST_HALF_LIFE);
/** Samples the recent fit holds, and how many times the t-bound its slope must clear. */
export const RING_POINTS = 10;
const RING_T_FACTOR = 2;

/**
 * Add one sample (t in ms). A drop of more than half the value (a restart: the process came back
 * small) resets both fits.
 */
export function updateForecast(state: ForecastState, value: number, tMs: number): void {
  if (!Number.isNaN(state.last) && value < state.last * 0.5) Object.assign(state, newForecast());
  if (state.w === 0) state.t0 = tMs;
  const x = (tMs - state.t0) / 1000;
  const d = SLOW_DECAY;
  state.w = state.w * d + 1;
  state.sx = state.sx * d + x;
  state.sy = state.sy * d + value;
  state.sxx = state.sxx * d + x * x;
  state.sxy = state.sxy * d + x * value;
  state.syy = state.syy * d + value * value;
  const f = FAST_DECAY;
  state.fw = state.fw * f + 1;
  state.fsx = state.fsx * f + x;
  state.fsy = state.fsy * f + value;
  state.fsxx = state.fsxx * f + x * x;
  state.fsxy = state.fsxy * f + x * value;
  state.fsyy = state.fsyy * f + value * value;
  const ring = state.ring;
  if (ring.length >= 2 * RING_POINTS) ring.splice(0, 2);
  ring.push(x, value);
  state.last = value;
  state.lastX = x;
}

/** One weighted fit projected to `limit` from its fitted value now (robust to one noisy last sample). */
function project(
  n: number,
  sx: number,
  sy: number,
  sxx: number,
  sxy: number,
  syy: number,
  lastX: number,
  limit: number,
): Forecast {
  const none = { slope: 0, tStat: 0, secondsToLimit: Infinity, weight: n };
  if (n < 5) return none;
  const mx = sx / n;
  const my = sy / n;
  const vx = sxx / n - mx * mx;
  if (vx <= 0) return none;
  const slope = (sxy / n - mx * my) / vx;
  const intercept = my - slope * mx;
  const residualVar = Math.max(0, syy / n - my * my - slope * slope * vx);
  const se = Math.sqrt(residualVar / Math.max(1, n - 2) / vx);
  const tStat = se > 0 ? slope / se : slope > 0 ? Infinity : 0;
  if (slope <= 0) return { slope, tStat, secondsToLimit: Infinity, weight: n };
  const fittedNow = intercept + slope * lastX;
  // Usage scatters around the line, and the limit is hit by a peak, not by the mean: the breach is
  // when the line comes within NOISE_MARGIN residual deviations of the limit.
  const margin = NOISE_MARGIN * Math.sqrt(residualVar);
  const secondsToLimit = Math.max(0, (limit - margin - fittedNow) / slope);
  return { slope, tStat, secondsToLimit, weight: n };
}

/**
 * How many residual standard deviations below the limit a noisy series already breaches it: a
 * memory limit is enforced on every allocation, between scrapes too, so the highest of the many
 * values between two samples decides (the highest of ~10 normal draws is ~1.5σ, of ~1 000 ~3σ).
 */
export const NOISE_MARGIN = 2;

/** Least squares over the recent samples, once the ring is full. */
function projectRing(ring: readonly number[], lastX: number, limit: number): Forecast | undefined {
  if (ring.length < 2 * RING_POINTS) return undefined;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < ring.length; i += 2) {
    const x = ring[i] as number;
    const y = ring[i + 1] as number;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
  }
  return project(RING_POINTS, sx, sy, sxx, sxy, syy, lastX, limit);
}

/**
 * The forecast to act on: of the fits whose slope's t-statistic reaches `minTStat` (twice that for
 * the recent fit), the one that reaches `limit` first; the slow fit when none does.
 */
export function forecast(state: ForecastState, limit: number, minTStat: number): Forecast {
  const slow = project(state.w, state.sx, state.sy, state.sxx, state.sxy, state.syy, state.lastX, limit);
  const fast = project(
    state.fw,
    state.fsx,
    state.fsy,
    state.fsxx,
    state.fsxy,
    state.fsyy,
    state.lastX,
    limit,
  );
  let best = slow.tStat >= minTStat ? slow : undefined;
  if (fast.tStat >= minTStat && (!best || fast.secondsToLimit < best.secondsToLimit)) best = fast;
  const recent = projectRing(state.ring, state.lastX, limit);
  if (
    recent &&
    recent.tStat >= RING_T_FACTOR * minTStat &&
    (!best || recent.secondsToLimit < best.secondsToLimit)
  )
    best = recent;
  return best ?? slow;
}
