// Time-to-limit forecasting: an exponentially weighted least-squares line through recent samples
// (value against time), projected to the series' limit (memory limit, allocatable CPU, disk size).
// A fitted slope only counts when it is statistically clear (|t| over a bound) and the projection
// lands inside the horizon, so noise around a flat line never predicts a breach.

export interface ForecastState {
  /** Weighted sums for the regression, time in seconds relative to t0. */
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
}

export function newForecast(): ForecastState {
  return { w: 0, sx: 0, sy: 0, sxx: 0, sxy: 0, syy: 0, t0: 0, last: Number.NaN, lastX: 0 };
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

/**
 * Add one sample (t in ms). `halfLifeSamples` sets the forgetting. A drop of more than half the
 * value (a restart: the process came back small) resets the fit.
 */
export function updateForecast(state: ForecastState, value: number, tMs: number, halfLifeSamples = 20): void {
  if (!Number.isNaN(state.last) && value < state.last * 0.5) Object.assign(state, newForecast());
  if (state.w === 0) state.t0 = tMs;
  const decay = Math.pow(0.5, 1 / halfLifeSamples);
  const x = (tMs - state.t0) / 1000;
  state.w = state.w * decay + 1;
  state.sx = state.sx * decay + x;
  state.sy = state.sy * decay + value;
  state.sxx = state.sxx * decay + x * x;
  state.sxy = state.sxy * decay + x * value;
  state.syy = state.syy * decay + value * value;
  state.last = value;
  state.lastX = x;
}

/** Project the fitted line to `limit` from the current value. */
export function forecast(state: ForecastState, limit: number): Forecast {
  const n = state.w;
  const none = { slope: 0, tStat: 0, secondsToLimit: Infinity, weight: n };
  if (n < 5) return none;
  const mx = state.sx / n;
  const my = state.sy / n;
  const vx = state.sxx / n - mx * mx;
  if (vx <= 0) return none;
  const slope = (state.sxy / n - mx * my) / vx;
  const intercept = my - slope * mx;
  const residualVar = Math.max(0, state.syy / n - my * my - slope * slope * vx);
  const se = Math.sqrt(residualVar / Math.max(1, n - 2) / vx);
  const tStat = se > 0 ? slope / se : slope > 0 ? Infinity : 0;
  if (slope <= 0) return { slope, tStat, secondsToLimit: Infinity, weight: n };
  // Project from the fitted value now (robust to one noisy last sample).
  const fittedNow = intercept + slope * state.lastX;
  const secondsToLimit = Math.max(0, (limit - fittedNow) / slope);
  return { slope, tStat, secondsToLimit, weight: n };
}
