// Online robust deviation detector: one small state per series, updated in O(1) per sample.
//
// Baseline: Holt's linear smoothing (level + damped trend) with an optional daily or weekly
// seasonal profile, fitted with Huber-clipped residuals so that outliers barely move it
// ("does not learn from what it flags"), and a spread tracked as an exponentially weighted mean
// absolute deviation.
// Score: the residual's robust z-score, turned into an anomaly likelihood the way Numenta's NAB
// detector does (Ahmad et al., "Unsupervised real-time anomaly detection for streaming data",
// Neurocomputing 2017): how unusual the recent average z is against the long-run distribution of
// z for this series — which makes scores comparable across series, so one threshold fits all.
// Two kinds of novelty score 1 outright: a value beyond the range seen so far (Numenta's "spatial
// anomaly"; for a series never negative, also a fall far below its lowest on a log scale), and a
// pattern never seen before — a (band of the range, step direction) pair following another, where
// a step is up or down when it is much larger than the typical one. Patterns are kept as a few
// hundred bits per series, under several band widths at once, and a pattern is new only when it is
// new under every width (one width alone flags band-edge artefacts) — and counts only when the
// series has shown no new pattern for a while: while a series keeps producing new patterns, its
// vocabulary is still being learnt and one more says little.
// Each kind of alert has its own refractory memory, so that one alert is reported per episode
// without one kind silencing another: a value leaving the range while the likelihood is raised on
// its way there is still reported. What was reported is remembered too, whatever its kind: right
// after a near-certain alert was reported, the next one (a new pattern, the range left) is the same
// episode and is damped.

/** Tuning of one detector; `sensitivity` comes from the Detector resource. */
export interface DetectorParams {
  /** Level smoothing per sample. */
  readonly alpha: number;
  /** Trend smoothing per sample. */
  readonly beta: number;
  /** Trend damping per sample (φ). */
  readonly phi: number;
  /** Residuals are clipped at this many spreads when learning. */
  readonly clip: number;
  /** Smoothing of the short-term raw-score average (spikes, sudden changes). */
  readonly shortAlpha: number;
  /** Smoothing of a slower raw-score average (drifts, sustained small changes); 0 disables it. */
  readonly slowAlpha: number;
  /** Smoothing of the long-run z distribution. */
  readonly longAlpha: number;
  /** Seasonal profile: period in ms (0 = none) and the most bins it may use (one per sample interval up to that). */
  readonly seasonMs: number;
  readonly seasonBins: number;
  readonly seasonAlpha: number;
  /** Samples before any score is given. */
  readonly warmup: number;
  /** Consecutive same-sided residuals beyond 2 spreads that mark a level shift to relearn fast. */
  readonly shiftRun: number;
  /** Range novelty: a value beyond the historical min/max by this share of the range scores 1 (0 disables). */
  readonly rangeTolerance: number;
  /** Samples before range novelty counts (the range must be learnt first). */
  readonly noveltyWarmup: number;
  /** Per-sample decay of the memory of a recent alert (refractory period); 0 disables it. */
  readonly refractoryDecay: number;
  /** Raw score: z is squashed to [0, 1) as 1 − e^(−z / zScale) before the likelihood. */
  readonly zScale: number;
  /**
   * Pattern novelty: the numbers of bands the range is cut into (one pattern table each, at most
   * 8 bands; empty disables), how many typical steps make a step count as up or down, and the
   * samples before a new pattern counts (the usual patterns must be learnt first).
   */
  readonly patternBands: readonly number[];
  readonly patternStep: number;
  readonly patternWarmup: number;
  /** A new pattern counts only after this many samples without any (0: always). */
  readonly patternQuiet: number;
  /**
   * Per-sample decay of the memory of the last near-certain alert reported, of any kind, which
   * damps the next reports (0: only the sample right after one).
   */
  readonly reportedDecay: number;
}

export const DEFAULT_PARAMS: DetectorParams = {
  alpha: 0.01,
  beta: 0.005,
  phi: 0.98,
  clip: 2,
  shortAlpha: 0.2,
  slowAlpha: 0.01,
  longAlpha: 0.0005,
  seasonMs: 0,
  seasonBins: 0,
  seasonAlpha: 0.3,
  warmup: 10,
  shiftRun: 5,
  zScale: 6,
  refractoryDecay: 0.98,
  // Numenta's NAB detector uses 5 % ("SPATIAL_TOLERANCE" in numenta_detector.py).
  rangeTolerance: 0.05,
  noveltyWarmup: 0,
  patternBands: [3, 4, 5],
  patternStep: 0.75,
  patternWarmup: 400,
  patternQuiet: 360,
  reportedDecay: 0.9875,
};

/** Bits per word of `SeriesState.seen`. */
export const PATTERN_WORD_BITS = 32;

export const DAY_MS = 86_400_000;

/** Per-series state (JSON-serialisable, a few hundred bytes without seasonality). */
export interface SeriesState {
  n: number;
  t: number;
  level: number;
  trend: number;
  spread: number;
  zShort: number;
  zSlow: number;
  zMean: number;
  zVar: number;
  /** Signed count of consecutive residuals beyond 2 spreads (positive: above). */
  run: number;
  /** Memory of a recent alert in [0, 1]: damps repeats of the same alert. */
  alerted: number;
  /** Smallest and largest value seen. */
  min: number;
  max: number;
  season: number[] | undefined;
  /** Samples the pattern tables have learnt from (they may start later than the baseline). */
  patterns: number;
  /** Previous value, typical step (mean absolute change) and previous move (−1, 0, 1). */
  prev: number;
  step: number;
  move: number;
  /** Previous band per pattern table, packed 3 bits each. */
  bands: number;
  /**
   * Patterns seen, as signed 32-bit words (small integers to a 64-bit engine): bit i is bit i & 31
   * of word i >> 5. Words past the last one in use may be missing (read as 0).
   */
  seen: number[];
  /**
   * Memory of the last new pattern in [0, 1] (counted or not): 1 when one is seen, decaying as
   * `alerted` does; how long the series has had none.
   */
  patternAlerted: number;
  /** Memory of the last range novelty in [0, 1]: damps repeats of it (its refractory period). */
  rangeAlerted: number;
  /** Memory of the last near-certain alert reported (any kind) in [0, 1]: damps every report. */
  reported: number;
}

export function newState(): SeriesState {
  return {
    n: 0,
    t: 0,
    level: 0,
    trend: 0,
    spread: 0,
    zShort: 0,
    zSlow: 0,
    zMean: 0.3,
    zVar: 0.04,
    run: 0,
    alerted: 0,
    min: 0,
    max: 0,
    season: undefined,
    patterns: 0,
    prev: 0,
    step: 0,
    move: 0,
    bands: 0,
    seen: [],
    patternAlerted: 0,
    rangeAlerted: 0,
    reported: 0,
  };
}

export type MutableObservation = { -readonly [K in keyof Observation]: Observation[K] };

export interface Observation {
  /** Anomaly score in [0, 1]: the likelihood with repeats of an alert damped (what NAB scores). */
  readonly score: number;
  /** The undamped anomaly likelihood in [0, 1] (what alert episodes use). */
  readonly likelihood: number;
  /** Robust z-score of this sample against the baseline. */
  readonly z: number;
  /** What the baseline expected. */
  readonly expected: number;
  readonly spread: number;
}

// Abramowitz & Stegun 7.1.26 erf approximation (|error| < 1.5e-7).
function normalCdfExact(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

// Φ is on every sample's path: a table over [-8, 8] at 1/128 steps with linear interpolation
// (interpolation error < 1e-6, below the approximation's own) replaces an exp per sample.
const CDF_STEPS = 128;
const CDF_RANGE = 8;
const CDF_TABLE = Float64Array.from({ length: 2 * CDF_RANGE * CDF_STEPS + 2 }, (_, i) =>
  normalCdfExact(i / CDF_STEPS - CDF_RANGE),
);

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  if (!(x > -CDF_RANGE)) return x === x ? 0 : Number.NaN;
  if (x >= CDF_RANGE) return 1;
  const f = (x + CDF_RANGE) * CDF_STEPS;
  const i = f | 0;
  const a = CDF_TABLE[i] as number;
  return a + ((CDF_TABLE[i + 1] as number) - a) * (f - i);
}

// e^(−u) for the raw score, also once per sample: a table over [0, 16) at 1/128 steps with linear
// interpolation (relative error < 8e-6); beyond 16 it is below 1.2e-7 and taken as 0.
const EXP_STEPS = 128;
const EXP_RANGE = 16;
const EXP_TABLE = Float64Array.from({ length: EXP_RANGE * EXP_STEPS + 2 }, (_, i) =>
  Math.exp(-i / EXP_STEPS),
);

/** e^(−u) from the table: 1 at or below 0, 0 from 16 on, NaN for NaN. */
export function expNeg(u: number): number {
  if (!(u < EXP_RANGE)) return u === u ? 0 : Number.NaN;
  if (!(u > 0)) return 1;
  const f = u * EXP_STEPS;
  const i = f | 0;
  const a = EXP_TABLE[i] as number;
  return a + ((EXP_TABLE[i + 1] as number) - a) * (f - i);
}

function seasonBin(params: DetectorParams, t: number, bins: number): number {
  return Math.floor(((t % params.seasonMs) / params.seasonMs) * bins);
}

/** Create the seasonal profile once the sample interval is known: one bin per interval, up to the cap. */
function ensureSeason(state: SeriesState, t: number, params: DetectorParams): void {
  if (params.seasonBins <= 0 || params.seasonMs <= 0 || state.season || t <= state.t) return;
  const bins = Math.max(1, Math.min(params.seasonBins, Math.round(params.seasonMs / (t - state.t))));
  state.season = new Array<number>(bins).fill(0);
}

/** Seasonal profile: the typical offset from the level at this phase; the first period fills it directly. */
function learnSeason(
  state: SeriesState,
  season: number[],
  value: number,
  previousLevel: number,
  clipped: number,
  bin: number,
  shifted: boolean,
  params: DetectorParams,
): void {
  const current = season[bin] ?? 0;
  const firstPeriod = state.n < season.length;
  const target = firstPeriod ? value - previousLevel : current + (shifted ? 0 : clipped);
  season[bin] = current + (firstPeriod ? 1 : params.seasonAlpha) * (target - current);
}

// Values derived from a parameter set, computed once per set: observe checks the set it is given
// and inlines only that check.
let derivedFor: DetectorParams | undefined;
/** √(α_slow/(2−α_slow)) / √(α_short/(2−α_short)): the slow average's band against the short one's. */
let bandRatio = 1;
/** The pattern memory left after `patternQuiet` samples without a new pattern. */
let quietLevel = 1;
/**
 * 1 / zScale and 1 / bandRatio: observe multiplies by them (a division costs several times a
 * multiplication, and observe made five a sample; three now, 1.05–1.10× as many samples a second in
 * interleaved A/B runs, NAB's figures unchanged).
 */
let invZScale = 1;
let invBandRatio = 1;

function derive(params: DetectorParams): void {
  derivedFor = params;
  bandRatio =
    Math.sqrt(params.slowAlpha / (2 - params.slowAlpha)) /
    Math.sqrt(params.shortAlpha / (2 - params.shortAlpha));
  quietLevel = Math.pow(params.refractoryDecay, params.patternQuiet);
  invZScale = 1 / params.zScale;
  invBandRatio = 1 / bandRatio;
}

let layoutParams: DetectorParams | undefined;
let layoutOffsets = new Int32Array(0);
let layoutWords = 0;
/**
 * Where each band count's table starts — 9·b² bits for b bands: (band, move) after (band, move),
 * three moves — and the words they take; computed once per parameter set (the computing half apart,
 * so that what patternNovel inlines is the check).
 */
function patternLayout(params: DetectorParams): Int32Array {
  if (params !== layoutParams) computeLayout(params);
  return layoutOffsets;
}

function computeLayout(params: DetectorParams): void {
  const counts = params.patternBands;
  const offsets = new Int32Array(counts.length);
  let offset = 0;
  counts.forEach((bands, k) => {
    offsets[k] = offset;
    offset += 9 * bands * bands;
  });
  layoutParams = params;
  layoutOffsets = offsets;
  layoutWords = Math.ceil(offset / PATTERN_WORD_BITS);
}

/** The words missing from a new (or an older, shorter) state's pattern tables, as zeros. */
function addWords(seen: number[]): void {
  while (seen.length < layoutWords) seen.push(0);
}

/**
 * Pattern novelty: this sample's (band, move) after the previous one's, looked up and recorded in
 * one table per band count. True when new in every table (observe decides whether it counts). `at`
 * is where the value sits in the range seen so far, in [0, 1].
 */
function patternNovel(state: SeriesState, change: number, at: number, params: DetectorParams): boolean {
  const counts = params.patternBands;
  const offsets = patternLayout(params);
  state.patterns++;
  state.step += (state.patterns < 20 ? 0.2 : 0.01) * ((change < 0 ? -change : change) - state.step);
  const limit = params.patternStep * state.step;
  const move = change > limit ? 1 : change < -limit ? -1 : 0;
  const seen = state.seen;
  if (seen.length < layoutWords) addWords(seen);
  // Known when any table has seen it: a flag, not a branch per table (the tables are looked up anyway).
  let known = 0;
  let packed = 0;
  const previous = state.bands;
  const previousMove = state.move + 1;
  for (let k = 0; k < counts.length; k++) {
    const bands = counts[k] as number;
    const scaled = (bands * at) | 0;
    const band = scaled < bands ? scaled : bands - 1;
    const before = (previous >>> (3 * k)) & 7;
    const bit = (offsets[k] as number) + ((before * 3 + previousMove) * bands + band) * 3 + move + 1;
    const index = bit >> 5;
    const word = seen[index] as number;
    const mask = 1 << (bit & 31);
    const hit = word & mask;
    known |= hit;
    if (hit === 0) seen[index] = word | mask; // signed: bit 31 makes it negative, still a small integer
    packed |= band << (3 * k);
  }
  state.bands = packed;
  state.move = move;
  return known === 0;
}

/**
 * Range novelty on a log scale, downwards only, for a series that has never been negative: a count
 * or rate falling far below its lowest ever (traffic from its night-time low of 1 400 to 8) is
 * well inside the linear tolerance of a range that reaches 40 000, but is an outage. Upwards the
 * linear test is already the stricter one.
 */
function fallsTowardZero(state: SeriesState, value: number, params: DetectorParams): boolean {
  if (!(value < state.min) || !(value >= 0)) return false;
  const low = Math.log1p(state.min);
  return Math.log1p(value) < low - (Math.log1p(state.max) - low) * params.rangeTolerance;
}

/**
 * An alert memory after one more sample: the old memory decayed, or the new level's 64th power
 * (by squaring) when larger — only a near-certain alert is remembered much (0.99 → 0.53, 0.95 →
 * 0.04). Small enough that V8 inlines it into observe.
 */
function remember(memory: number, level: number, decay: number): number {
  let p = level * level;
  p *= p;
  p *= p;
  p *= p;
  p *= p;
  p *= p;
  const decayed = memory * decay;
  return decayed > p ? decayed : p;
}

/** The first sample: the baseline starts at it, with nothing to score it against. */
function start(state: SeriesState, value: number, t: number, result: MutableObservation): Observation {
  state.n = 1;
  state.t = t;
  state.level = value;
  state.min = value;
  state.max = value;
  state.spread = Math.abs(value) * 0.01;
  state.prev = value;
  result.score = 0;
  result.likelihood = 0;
  result.z = 0;
  result.expected = value;
  result.spread = state.spread;
  return result;
}

/**
 * Score one sample and update the state in place. Returns the observation; the first `warmup`
 * samples only learn (score 0).
 *
 * One function on purpose, in steps: V8 inlines only ~920 bytes of bytecode of callees into the
 * function it optimises, and split into a helper per step observe went past that, so each sample
 * paid calls with their numbers boxed on the heap. As one function, with the same output, it scores
 * 1.27–1.43× as many samples a second (interleaved A/B of both builds). The helpers left are small,
 * or off the usual path.
 */
// eslint-disable-next-line complexity -- the hot path, kept whole (see above)
export function observe(
  state: SeriesState,
  value: number,
  t: number,
  params: DetectorParams = DEFAULT_PARAMS,
  /** Reused for the result when given (hot loops), else a new object. */
  out?: MutableObservation,
): Observation {
  const result = out ?? { score: 0, likelihood: 0, z: 0, expected: 0, spread: 0 };
  if (state.n === 0) return start(state, value, t, result);
  if (params !== derivedFor) derive(params);
  if (params.seasonBins > 0) ensureSeason(state, t, params);
  const season = state.season;
  const bin = season ? seasonBin(params, t, season.length) : 0;
  const expected = state.level + state.trend + (season ? (season[bin] ?? 0) : 0);
  const residual = value - expected;
  const distance = residual < 0 ? -residual : residual;
  // Spread floor: a flat series must not turn its first wiggle into an infinite z.
  const floor = Math.abs(state.level) * 1e-3;
  const learnt = state.spread > floor ? state.spread : floor;
  const spread = learnt > 1e-9 ? learnt : 1e-9;
  const z = distance / spread;

  // Level shift: a run of same-sided residuals beyond 2 spreads is the new normal, relearnt fast.
  // While a seasonal profile is still being learned (first two periods), regular steps are not shifts.
  let run = state.run;
  if (distance > 2 * spread) run = residual > 0 ? (run > 0 ? run + 1 : 1) : run < 0 ? run - 1 : -1;
  else run = 0;
  state.run = run;
  const learningSeason = season !== undefined && state.n < 2 * season.length;
  const shifted = !learningSeason && (run < 0 ? -run : run) >= params.shiftRun;

  // Learn level, trend, season and spread from the residual, clipped so outliers barely count.
  const clip = params.clip * spread;
  const limit = shifted ? distance : clip;
  const clipped = residual > limit ? limit : residual < -limit ? -limit : residual;
  const previousLevel = state.level;
  const trend = state.trend;
  const level = previousLevel + trend + (shifted ? 0.5 : params.alpha) * clipped;
  state.level = level;
  state.trend = shifted ? 0 : params.phi * trend + params.beta * (level - previousLevel - trend);
  if (season) learnSeason(state, season, value, previousLevel, clipped, bin, shifted, params);
  state.spread += params.alpha * ((distance < clip ? distance : clip) - state.spread);

  // Range novelty (Numenta's "spatial anomaly"): a value well outside everything seen so far.
  const min = state.min;
  const max = state.max;
  const tolerance = (max - min) * params.rangeTolerance;
  const outside =
    params.rangeTolerance > 0 &&
    state.n > params.noveltyWarmup &&
    max > min &&
    (value > max + tolerance || value < min - tolerance || fallsTowardZero(state, value, params));

  // Pattern novelty, with the value's band placed in the range seen before it (outside values at
  // the nearer end). It counts past the warm-up, and only when the series has shown no new pattern
  // for patternQuiet samples (its memory of the last one has decayed that far).
  const range = max - min;
  const position = range > 0 ? (value - min) / range : 0;
  const change = value - state.prev;
  state.prev = value;
  const novel =
    params.patternBands.length > 0 &&
    patternNovel(state, change, position > 0 ? (position < 1 ? position : 1) : 0, params);
  const newPattern = novel && state.patterns > params.patternWarmup && state.patternAlerted < quietLevel;
  // Stored only when they move: `value < min ? value : min` made V8 box the old extreme on the heap
  // for the store (two heap numbers a sample, half of what observe allocated).
  if (value < min) state.min = value;
  if (value > max) state.max = value;

  // Anomaly likelihood: the short-term (and a slower) average of the raw score against the
  // long-run distribution of raw scores.
  const raw = 1 - expNeg(z * invZScale);
  state.zShort += params.shortAlpha * (raw - state.zShort);
  state.zSlow += params.slowAlpha * (raw - state.zSlow);
  const zMean = state.zMean;
  const zVar = state.zVar;
  const invSd = 1 / Math.sqrt(zVar > 1e-6 ? zVar : 1e-6);
  const fastX = (state.zShort - zMean) * invSd;
  // An EWMA's spread scales with √(α/(2−α)): the slow average needs a tighter band than the short one.
  const invSlowSd = invSd * invBandRatio;
  const slowX =
    params.slowAlpha > 0 ? (state.zSlow - zMean) * (invSlowSd < 1e6 ? invSlowSd : 1e6) : -Infinity;
  // Φ is monotone: the larger of the two tail probabilities is Φ of the larger argument.
  const likelihood = state.n > params.warmup ? (outside ? 1 : normalCdf(fastX > slowX ? fastX : slowX)) : 0;
  const delta = raw - zMean;
  state.zMean = zMean + params.longAlpha * delta;
  state.zVar = (1 - params.longAlpha) * (zVar + params.longAlpha * delta * delta);

  // One alert per episode: right after a near-certain alert, repeats are damped (refractory
  // period). A new pattern has its own memory — its quiet spell is its refractory period — and
  // a range novelty has its own too: it damps the likelihood that follows (it is a near-certain
  // alert), and the likelihood's memory does not damp it (a likelihood raised for long, reported
  // once, must not hide the value leaving the range). What was reported is remembered apart, kind
  // aside: the next report right after a near-certain one is the same episode (on NAB's corpus,
  // 103 false positives → 85, no window lost; NAB counts every one outside a window).
  const patternScore = newPattern ? 1 : 0;
  state.patternAlerted = novel ? 1 : state.patternAlerted * params.refractoryDecay;
  const rangeAlerted = state.rangeAlerted;
  state.rangeAlerted = outside ? 1 : rangeAlerted * params.refractoryDecay;
  const alerted = state.alerted;
  const score = outside ? 1 - rangeAlerted : likelihood * (1 - alerted);
  state.alerted = remember(alerted, likelihood, params.refractoryDecay);

  const own = score > patternScore ? score : patternScore;
  const reported = state.reported;
  state.reported = remember(reported, own, params.reportedDecay);

  result.score = own * (1 - reported);
  result.likelihood = newPattern ? 1 : likelihood;
  result.z = z;
  result.expected = expected;
  result.spread = spread;
  state.n++;
  state.t = t;
  return result;
}
