import { createHash } from 'node:crypto';
import type { AnomalyData, Sample, Severity } from '../../shared/contracts/index.js';
import { withinReservation } from '../../shared/quantity/index.js';
// store.js, not the store index: the score path needs no ConfigMap client to be bundled.
import { updateEach, type BaselineStore } from '../../shared/store/store.js';
import { ByteWriter } from '../../shared/store/byte-writer.js';
import { seriesKey } from '../../shared/series/index.js';
import { newState, observe, type MutableObservation, type SeriesState } from './detector.js';
import { newEpisode, stepEpisode, type EpisodeState } from './episode.js';
import { decodeSeriesRecordAt, recycleSeriesRecord, seriesRecordTimeAt } from './record-codec.js';
import {
  groupByBucket,
  readBucket,
  SERIES_BUCKET_CODEC,
  startBucket,
  writeBucketEntry,
} from './series-bucket.js';
import { forecast, newForecast, updateForecast, type ForecastState } from './forecast.js';
import {
  episodeRuleFor,
  forecastRuleFor,
  paramsFor,
  rulesFor,
  zThresholdFor,
  type DetectorRule,
} from './rules.js';

/** Everything score keeps about one series between invocations (stored in the BaselineStore). */
export interface SeriesRecord {
  /** Deviation baselines, by seasonality. */
  d: Record<string, SeriesState>;
  f?: ForecastState;
  /** Alert episodes, by rule name. */
  e: Record<string, EpisodeState>;
  /** Last sample time, to ignore out-of-order and duplicate samples. */
  t: number;
}

/** A sample that was refused, and why (bad samples are reported, never learned). */
export interface Rejection {
  readonly key: string;
  readonly reason: string;
}

function anomalyId(key: string, rule: string, onset: number): string {
  return createHash('sha256').update(`${key}|${rule}|${onset}`).digest('hex').slice(0, 24);
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Date.parse with the last answer kept: the samples of one scrape share their time, and parsing it
 * again for each of 50 000 series was ~0.5 µs a sample (an equal string compares in ~0.02).
 */
let lastAt = '';
let lastTime = Number.NaN;
function timeOf(at: string): number {
  if (at !== lastAt) {
    lastTime = Date.parse(at);
    lastAt = at;
  }
  return lastTime;
}

/**
 * Score a series' new samples against its record (the caller loads and stores records). The
 * record passed in is updated in place and returned — pass a fresh copy (store loads are).
 * Samples must be in time order; one older than or equal to the record's last is rejected.
 */
export function scoreSeries(
  key: string,
  samples: readonly Sample[],
  previous: SeriesRecord | undefined,
  custom: readonly DetectorRule[],
): { record: SeriesRecord; anomalies: readonly AnomalyData[]; rejected: readonly Rejection[] } {
  const record: SeriesRecord = previous ?? { d: {}, e: {}, t: 0 };
  // Most series have neither: the shared empty list saves two arrays per series per batch.
  let anomalies: AnomalyData[] | undefined;
  let rejected: Rejection[] | undefined;
  for (const sample of samples) {
    const t = timeOf(sample.at);
    if (!Number.isFinite(t)) {
      (rejected ??= []).push({ key, reason: `unparseable time ${sample.at}` });
      continue;
    }
    if (t <= record.t) {
      (rejected ??= []).push({
        key,
        reason: `out of order or duplicate (at ${sample.at}, last ${iso(record.t)})`,
      });
      continue;
    }
    record.t = t;
    for (const rule of rulesFor(sample, custom)) {
      const a =
        rule.spec.algorithm === 'forecast-limit'
          ? applyForecast(record, key, sample, t, rule)
          : applyDeviation(record, key, sample, t, rule);
      if (a) (anomalies ??= []).push(a);
    }
  }
  return { record, anomalies: anomalies ?? NONE, rejected: rejected ?? NONE };
}

const NONE: readonly never[] = Object.freeze([]);

export type ScoreResult = ReturnType<typeof scoreSeries>;

/**
 * A series unseen for this long is dropped from its bucket when the bucket is next written (the
 * store's own expiry, the Redis store's 7-day TTL, only drops a bucket no series of which is seen).
 */
export const SERIES_IDLE_MS = 7 * 86_400_000;

/**
 * Buckets per store load and commit (~12 series each at 50 000 series). Measured on the 50 000-series
 * bench, 8 to 256 take about as long, and 16 peaks lowest (141–149 MB against 153–159 at 128;
 * likely because the Redis parser copies a reply that spans several socket reads as they arrive).
 */
export const BUCKETS_PER_CHUNK = 16;

/**
 * Score grouped series against their stored records, kept in buckets (series-bucket.ts): load,
 * score and compare-and-set each bucket, in pipelined chunks, redoing only the buckets another
 * instance updated meanwhile. `scored` sees each series' result; it is called again for a series
 * whose bucket lost a race, and its last call counts. It may keep the anomalies and rejections, not
 * the record: once encoded, the record's states are reused for the next series. The bucket's other
 * series are kept as they are, except those unseen for `idleMs` before `now`: the scrape's time
 * when given (a sample dated in the future must not age its bucket-mates out), else the batch's
 * newest sample.
 */
export async function scoreStored(
  store: BaselineStore,
  bySeries: ReadonlyMap<string, readonly Sample[]>,
  custom: readonly DetectorRule[],
  scored?: (key: string, result: ScoreResult) => void,
  options: { readonly now?: number; readonly idleMs?: number } = {},
): Promise<void> {
  const byBucket = groupByBucket(bySeries);
  const now = options.now !== undefined && Number.isFinite(options.now) ? options.now : newestTime(bySeries);
  const keepAfter = now - (options.idleMs ?? SERIES_IDLE_MS);
  const out = new ByteWriter(64 * 1024);
  /** Which of the bucket's series in this batch were found in it (reused: buckets are computed one at a time). */
  let matched = new Uint8Array(64);
  const scoreInto = (key: string, samples: readonly Sample[], previous: SeriesRecord | undefined) => {
    const result = scoreSeries(key, samples, previous, custom);
    scored?.(key, result);
    writeBucketEntry(out, key, result.record);
    // Nothing keeps a record once it is encoded (`scored` sees it during the call only).
    recycleSeriesRecord(result.record);
  };
  await updateEach<Uint8Array>(
    store,
    byBucket.keys,
    (bucket, current) => {
      const mine = byBucket.seriesIn(bucket);
      const samplesOf = byBucket.valuesIn(bucket);
      if (matched.length < mine.length) matched = new Uint8Array(mine.length * 2);
      matched.fill(0, 0, mine.length);
      startBucket(out);
      if (current)
        readBucket(current, (key, entryStart, recordStart, recordEnd) => {
          const index = mine.indexOf(key);
          if (index < 0) {
            // Another series of the bucket: kept as stored, unless it has been idle too long.
            if (seriesRecordTimeAt(current, recordStart, recordEnd) >= keepAfter)
              out.bytes(current.subarray(entryStart, recordEnd));
          } else if (matched[index] === 0) {
            matched[index] = 1;
            scoreInto(
              mine[index] as string,
              samplesOf[index] ?? [],
              recordOrRelearn(current, recordStart, recordEnd),
            );
          }
        });
      for (let i = 0; i < mine.length; i++)
        if (matched[i] === 0) scoreInto(mine[i] as string, samplesOf[i] ?? [], undefined);
      return out.written();
    },
    { codec: SERIES_BUCKET_CODEC, chunkSize: BUCKETS_PER_CHUNK },
  );
}

/** A stored record, or undefined (the series is relearnt) when its bytes cannot be read. */
function recordOrRelearn(bytes: Uint8Array, start: number, end: number): SeriesRecord | undefined {
  try {
    return decodeSeriesRecordAt(bytes, start, end);
  } catch {
    return undefined;
  }
}

/** The time of a batch's newest valid sample (−∞ when it has none). */
function newestTime(bySeries: ReadonlyMap<string, readonly Sample[]>): number {
  let newest = Number.NEGATIVE_INFINITY;
  for (const samples of bySeries.values()) {
    const last = samples[samples.length - 1];
    const t = last ? timeOf(last.at) : Number.NaN;
    if (t > newest) newest = t;
  }
  return newest;
}

/**
 * A young series only learns for its first `warmup` samples (20 at one a minute): a pod's series
 * starts with its process, whose start-up (a JIT warming, caches and heaps filling, a burst of
 * start-up work) is not yet its normal, and a node's with the machine, which fills up as pods land
 * on it. A Service's or a workload's series (request errors, latency) outlives any one process: it
 * may open an episode on a plainly large deviation (the robust z bound, the change at least the
 * rule's minChange) after EARLY_SAMPLES, so a fault in kurative's first minutes on a cluster (a bad
 * rollout, a dependency slowing down) is not learnt as the normal before it may alert.
 */
const EARLY_SAMPLES = 5;
const outlivesProcesses = (kind: string) => kind !== 'Pod' && kind !== 'Node';

/** Reused by every deviation rule (read before the next observe). */
const scratchObservation: MutableObservation = { score: 0, likelihood: 0, z: 0, expected: 0, spread: 0 };

function applyDeviation(
  record: SeriesRecord,
  key: string,
  sample: Sample,
  t: number,
  rule: DetectorRule,
): AnomalyData | undefined {
  const season = rule.spec.seasonality;
  const state = (record.d[season] ??= newState());
  const params = paramsFor(rule.spec);
  const obs = observe(state, sample.value, t, params, scratchObservation);
  const direction = rule.spec.signal.direction;
  const wrongWay =
    (direction === 'up' && sample.value < obs.expected) ||
    (direction === 'down' && sample.value > obs.expected);
  const episodeRule = episodeRuleFor(rule.spec);
  const episode = (record.e[rule.name] ??= newEpisode());
  // Either signal opens an episode: an unusual run of residuals (likelihood), or one plainly large
  // deviation — a robust z beyond the rule's bound, with the spread floored at 10 % of the baseline
  // so that a quiet series does not turn an ordinary swing into an alert. Young series only learn
  // (see EARLY_SAMPLES). Either only for a material change: at least the rule's minChange, and for
  // the built-in usage rules past the request or near the limit (see DetectorRule.overRequestOnly).
  const warm = state.n > params.warmup;
  const deviation =
    Math.abs(sample.value - obs.expected) / Math.max(obs.spread, 0.1 * Math.abs(obs.expected));
  const material =
    Math.abs(sample.value - obs.expected) >= rule.spec.minChange &&
    !(rule.overRequestOnly && withinReservation(sample));
  const plain =
    (warm || (state.n > EARLY_SAMPLES && outlivesProcesses(sample.entity.kind))) &&
    deviation >= zThresholdFor(rule.spec);
  const level = material ? Math.max(warm ? obs.likelihood : 0, plain ? 1 : 0) : 0;
  const outcome = stepEpisode(episode, wrongWay ? 0 : level, t, episodeRule);
  if (!outcome.emit) return undefined;
  const severity: Severity = obs.z > 10 ? 'critical' : 'warning';
  return {
    anomalyId: anomalyId(key, rule.name, outcome.onset),
    entity: sample.entity,
    signal: sample.signal,
    kind: 'deviation',
    detector: rule.name,
    score: level,
    threshold: episodeRule.threshold,
    severity,
    value: sample.value,
    baseline: { level: obs.expected, spread: obs.spread },
    onset: iso(outcome.onset),
    observedAt: sample.at,
    message: `${sample.signal} is ${sample.value.toPrecision(4)}, expected ${obs.expected.toPrecision(4)} ± ${obs.spread.toPrecision(3)} (z ${obs.z.toFixed(1)})`,
  };
}

function applyForecast(
  record: SeriesRecord,
  key: string,
  sample: Sample,
  t: number,
  rule: DetectorRule,
): AnomalyData | undefined {
  const state = (record.f ??= newForecast());
  updateForecast(state, sample.value, t);
  const limit = sample.limit;
  if (limit === undefined) return undefined;
  const { horizonMs, minTStat, episode: episodeRule } = forecastRuleFor(rule.spec);
  const fc = forecast(state, limit, minTStat);
  // A breach counts when the trend is clear, lands within the horizon, and usage is already substantial.
  const predicted =
    fc.tStat >= minTStat && fc.secondsToLimit * 1000 <= horizonMs && sample.value >= 0.5 * limit;
  const episode = (record.e[rule.name] ??= newEpisode());
  const outcome = stepEpisode(episode, predicted ? 1 : 0, t, episodeRule);
  if (!outcome.emit) return undefined;
  const seconds = fc.secondsToLimit;
  const score = Math.max(0, Math.min(1, 1 - (seconds * 1000) / horizonMs));
  return {
    anomalyId: anomalyId(key, rule.name, outcome.onset),
    entity: sample.entity,
    signal: sample.signal,
    kind: 'forecast',
    detector: rule.name,
    score,
    threshold: 0,
    severity: seconds * 1000 < horizonMs / 3 ? 'critical' : 'warning',
    value: sample.value,
    onset: iso(outcome.onset),
    observedAt: sample.at,
    forecast: { limit, predictedAt: iso(t + seconds * 1000), secondsToLimit: seconds },
    message: `${sample.signal} grows ${(fc.slope * 60).toPrecision(3)}/min and reaches its limit ${limit.toPrecision(4)} in ${Math.round(seconds / 60)} min`,
  };
}

/** Group a batch's valid samples by series, each in time order. */
export function groupSamples(samples: readonly Sample[]): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = seriesKey(s);
    const list = out.get(k);
    if (list) list.push(s);
    else out.set(k, [s]);
  }
  for (const list of out.values())
    if (list.length > 1) list.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return out;
}
