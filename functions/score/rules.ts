import type { DetectorSpec, Sample } from '../../shared/contracts/index.js';
import { DetectorSpec as DetectorSpecSchema } from '../../shared/contracts/index.js';
import { parseDuration } from '../../shared/duration/index.js';
import { DAY_MS, DEFAULT_PARAMS, type DetectorParams } from './detector.js';
import type { EpisodeRule } from './episode.js';

/** A Detector as score applies it: from a Detector resource, or one of the built-in defaults. */
export interface DetectorRule {
  readonly name: string;
  readonly spec: DetectorSpec;
  /**
   * A rise of usage counts only past the request (when the sample has one: a container's own, a
   * node's the sum of its pods'), or near the limit (`withinReservation`: a container whose request
   * is its limit, Guaranteed QoS, still shows a runaway before it is throttled or OOM-killed). Set on
   * the built-in usage deviations: usage within what a pod reserved takes nothing from its
   * neighbours and does not make it an eviction candidate, and a node whose pods use no more than
   * they reserved has no contention, so a pod doubling its CPU under a traffic spike, within its
   * request, is load, not trouble. A Detector resource does what its spec says (its `minChange` is
   * the materiality it wants).
   */
  readonly overRequestOnly?: boolean;
}

export const WEEK_MS = 7 * DAY_MS;

/** Built-in detection when no Detector resource covers a signal: deviation on usage, OOM forecasts. */
export const BUILTIN_RULES: readonly DetectorRule[] = [
  {
    name: 'builtin-memory-deviation',
    spec: DetectorSpecSchema.parse({ signal: { metric: 'memory_working_set_bytes' }, minDuration: '2m' }),
    overRequestOnly: true,
  },
  {
    name: 'builtin-memory-oom-forecast',
    spec: DetectorSpecSchema.parse({
      signal: { metric: 'memory_working_set_bytes' },
      algorithm: 'forecast-limit',
      horizon: '20m',
      minDuration: '2m',
    }),
  },
  {
    name: 'builtin-cpu-deviation',
    spec: DetectorSpecSchema.parse({ signal: { metric: 'cpu_usage_cores' }, minDuration: '3m' }),
    overRequestOnly: true,
  },
  {
    name: 'builtin-node-cpu-deviation',
    spec: DetectorSpecSchema.parse({ signal: { metric: 'node_cpu_usage_cores' }, minDuration: '3m' }),
    overRequestOnly: true,
  },
  {
    name: 'builtin-node-cpu-saturation-forecast',
    spec: DetectorSpecSchema.parse({
      signal: { metric: 'node_cpu_usage_cores' },
      algorithm: 'forecast-limit',
      horizon: '15m',
      minDuration: '2m',
    }),
  },
  {
    name: 'builtin-node-memory-forecast',
    spec: DetectorSpecSchema.parse({
      signal: { metric: 'node_memory_working_set_bytes' },
      algorithm: 'forecast-limit',
      horizon: '15m',
      minDuration: '2m',
    }),
  },
];

/** Signals that are states or counters, not levels: handled as symptoms, never as deviations. */
const NOT_LEVELS = new Set(['restarts_total', 'ready']);

function signalOf(spec: DetectorSpec): string | undefined {
  return spec.signal.metric ?? spec.signal.name;
}

export function ruleMatches(rule: DetectorRule, sample: Sample): boolean {
  const { target } = rule.spec;
  if (signalOf(rule.spec) !== sample.signal) return false;
  if (target.kinds.length > 0 && !target.kinds.includes(sample.entity.kind as (typeof target.kinds)[number]))
    return false;
  if (target.namespaces.length > 0 && !target.namespaces.includes(sample.entity.namespace ?? ''))
    return false;
  const wanted = target.selector?.matchLabels ?? {};
  return Object.entries(wanted).every(([k, v]) => sample.labels?.[k] === v);
}

const NO_CUSTOM_RULES: readonly DetectorRule[] = [];

// The rules for a sample depend only on its signal, kind, namespace and (when a rule selects on
// them) labels: they are worked out once per such combination and rule set (rule sets are built
// once per invocation), not once per sample.
interface RulesCache {
  /** Some rule selects on labels: the labels are part of the key. */
  readonly labels: boolean;
  /** signal → kind → namespace (→ labels) → rules; nested maps, so a lookup allocates nothing. */
  readonly bySignal: Map<string, Map<string, Map<string, DetectorRule[]>>>;
  size: number;
}
const rulesCacheOf = perObject((owner: readonly DetectorRule[]): RulesCache => ({
  labels: [...owner, ...BUILTIN_RULES].some(
    (r) => Object.keys(r.spec.target.selector?.matchLabels ?? {}).length > 0,
  ),
  bySignal: new Map(),
  size: 0,
}));

/** The rules that apply to a sample: every matching Detector resource, plus the built-ins it does not replace. */
export function rulesFor(sample: Sample, custom: readonly DetectorRule[]): readonly DetectorRule[] {
  const cache = rulesCacheOf(custom.length === 0 ? NO_CUSTOM_RULES : custom);
  const e = sample.entity;
  let byKind = cache.bySignal.get(sample.signal);
  if (!byKind) cache.bySignal.set(sample.signal, (byKind = new Map<string, Map<string, DetectorRule[]>>()));
  let byNamespace = byKind.get(e.kind);
  if (!byNamespace) byKind.set(e.kind, (byNamespace = new Map<string, DetectorRule[]>()));
  const key = cache.labels
    ? `${e.namespace ?? ''}|${JSON.stringify(sample.labels ?? {})}`
    : (e.namespace ?? '');
  let rules = byNamespace.get(key);
  if (!rules) {
    rules = matchRules(sample, custom);
    // Bounded: a flood of distinct namespaces or label sets must not grow it without end.
    if (cache.size >= 10_000) {
      cache.bySignal.clear();
      cache.size = 0;
    }
    cache.size++;
    byNamespace.set(key, rules);
  }
  return rules;
}

function matchRules(sample: Sample, custom: readonly DetectorRule[]): DetectorRule[] {
  if (NOT_LEVELS.has(sample.signal)) return [];
  const matching = custom.filter((r) => ruleMatches(r, sample));
  // A resource replaces the built-in rule of the same algorithm for what it covers; others still apply.
  const builtin = BUILTIN_RULES.filter(
    (r) => ruleMatches(r, sample) && !matching.some((c) => c.spec.algorithm === r.spec.algorithm),
  );
  return [...matching, ...builtin];
}

/**
 * Something derived from an object (a spec, a rule set), computed once per object (specs and rule
 * sets are built once per invocation): a WeakMap, and the last object asked for checked first — a
 * batch asks again for the same few 50 000 times, and a WeakMap lookup costs several times an
 * identity check.
 */
function perObject<K extends object, T>(compute: (key: K) => T): (key: K) => T {
  const cache = new WeakMap<K, T>();
  let lastKey: K | undefined;
  let last: T | undefined;
  return (key) => {
    if (key === lastKey) return last as T;
    let value = cache.get(key);
    if (value === undefined) {
      value = compute(key);
      cache.set(key, value);
    }
    lastKey = key;
    last = value;
    return value;
  };
}

/** An open episode of either kind is reported again this often. */
const EPISODE_REFRESH_MS = 5 * 60_000;

/** Detector parameters for a rule (seasonality from the spec). */
export const paramsFor = perObject(computeParams);

function computeParams(spec: DetectorSpec): DetectorParams {
  // Alerting needs a sustained change to stay visible for at least its minimum duration before it
  // is accepted as the new normal: relearn a shifted level only after a longer run than NAB does.
  // Range and pattern novelty only once a day of samples (at one a minute) has shown the series'
  // normal range and its usual patterns.
  // A new series (a new pod) only learns for its first 20 samples: its spread and score
  // distribution need samples before an alert means anything.
  const base = {
    ...DEFAULT_PARAMS,
    shiftRun: Math.max(DEFAULT_PARAMS.shiftRun, 15),
    noveltyWarmup: 1440,
    patternWarmup: 1440,
    warmup: 20,
  };
  if (spec.seasonality === 'none') return base;
  return { ...base, seasonMs: spec.seasonality === 'daily' ? DAY_MS : WEEK_MS, seasonBins: 288 };
}

/**
 * Alerting rule from sensitivity: the likelihood must exceed 1 − 10^−(3 + 3(1 − s)) — 0.99997 at the
 * default 0.5 — for at least minDuration, and falls back under 0.99 to clear.
 */
export const episodeRuleFor = perObject((spec: DetectorSpec): EpisodeRule => {
  const threshold = 1 - Math.pow(10, -(3 + 3 * (1 - spec.sensitivity)));
  return {
    threshold,
    clearThreshold: Math.min(0.99, threshold),
    minDurationMs: parseDuration(spec.minDuration),
    refreshMs: EPISODE_REFRESH_MS,
  };
});

/** Robust z beyond which a deviation is plainly abnormal: 6 + 6(1 − s) (9 at the default 0.5). */
export function zThresholdFor(spec: DetectorSpec): number {
  return 6 + 6 * (1 - spec.sensitivity);
}

/** Forecast rule from sensitivity: the slope's t-statistic must exceed 3 + 4(1 − s) (5 at 0.5). */
export function forecastTStat(spec: DetectorSpec): number {
  return 3 + 4 * (1 - spec.sensitivity);
}

/** What a forecast rule needs on every sample, from its spec (durations parsed once, not per sample). */
export interface ForecastRule {
  readonly horizonMs: number;
  readonly minTStat: number;
  /** Its episodes: open while a breach is predicted for minDuration, refreshed every 5 minutes. */
  readonly episode: EpisodeRule;
}

export const forecastRuleFor = perObject((spec: DetectorSpec): ForecastRule => ({
  horizonMs: parseDuration(spec.horizon),
  minTStat: forecastTStat(spec),
  episode: {
    threshold: 0.5,
    clearThreshold: 0.5,
    minDurationMs: parseDuration(spec.minDuration),
    refreshMs: EPISODE_REFRESH_MS,
  },
}));
