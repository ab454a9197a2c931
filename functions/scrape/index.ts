import { randomUUID } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../../shared/config/index.js';
import { DetectorSpec, EVENT_TYPES, type Sample } from '../../shared/contracts/index.js';
import {
  apiFailure,
  createKubeClients,
  loadKubeConfig,
  statusOf,
  type KubeClients,
} from '../../shared/kube/index.js';
import type { Logger } from '../../shared/log/index.js';
import { listDetectors, patchDetectorStatus, type DetectorObject } from '../../shared/kube/detectors.js';
import { jsonLists, type JsonListOptions } from '../../shared/kube/json-pages.js';
import { isOpenIncident, listIncidents } from '../../shared/kube/incidents.js';
import {
  queryInstant,
  type InstantSample,
  queryRange,
  type Fetch,
  type QueryOptions,
  type RangeSeries,
} from '../../shared/prometheus/index.js';
import { defineFunction, type OutboundEvent } from '../../shared/runtime/index.js';
import { chunkSamples } from './chunk.js';
import {
  buildSamples,
  entityFromLabels,
  nodeView,
  podView,
  seriesSamples,
  type NodeView,
  type PodView,
  type PromSeries,
} from './samples.js';

export interface ScrapeDeps extends JsonListOptions {
  readonly kube: KubeClients;
  readonly fetch?: Fetch;
  readonly now?: () => Date;
}

/** scrape: on each ping, read usage and pod state, and emit bounded metrics batches. */
export const definition = defineFunction<ScrapeDeps, typeof EVENT_TYPES.ping>({
  name: 'scrape',
  accepts: [EVENT_TYPES.ping],
  handle: async (event, { config, deps, log }) => {
    // The tick's own time stamps the scrape (PingSource sets it; the sandbox's is simulated time).
    const tick = event.time ? Date.parse(event.time) : NaN;
    const now = (Number.isFinite(tick) ? new Date(tick) : (deps.now ?? (() => new Date()))()).toISOString();
    const { pods, podMetrics, nodes, nodeMetrics } = await readCluster(deps, config, log);
    const { series: prometheus, history } = config.prometheusUrl
      ? await readPrometheus(deps, config, config.prometheusUrl, new Date(now), log)
      : { series: [], history: [] };
    const samples = buildSamples({ pods, podMetrics, nodes, nodeMetrics, prometheus, now });
    const source = prometheus.length > 0 || history.length > 0 ? 'mixed' : 'metrics.k8s.io';
    const { batches, oversized, trimmed } = chunkSamples([...samples, ...history], config.maxEventBytes, {
      scrapeId: randomUUID(),
      scrapedAt: now,
      source,
    });
    if (oversized > 0) log.warn({ oversized }, 'samples larger than an event were dropped');
    if (trimmed > 0) log.info({ trimmed }, 'backfilled history trimmed to fit one event per series');
    log.info({ samples: samples.length, backfilled: history.length, batches: batches.length }, 'scraped');
    const events = batches.map((data): OutboundEvent => ({ type: EVENT_TYPES.metrics, data }));
    const followUp = await followUpTick(deps.kube, now, log);
    return followUp ? [...events, followUp] : events;
  },
});

/**
 * The tick act follows, only while some Incident is open: when all is well act gets no event and
 * stays scaled to zero (pay per incident). When the Incidents cannot be listed, tick anyway —
 * a verification must not stall because of it.
 */
async function followUpTick(kube: KubeClients, at: string, log: Logger): Promise<OutboundEvent | undefined> {
  try {
    const open = (await listIncidents(kube)).filter(isOpenIncident);
    if (open.length === 0) return undefined;
    return { type: EVENT_TYPES.tick, data: { at, openIncidents: open.length } };
  } catch (error) {
    log.warn({ status: statusOf(error) }, 'could not list Incidents; ticking act anyway');
    return { type: EVENT_TYPES.tick, data: { at } };
  }
}

async function readCluster(deps: ScrapeDeps, config: Config, log: Logger) {
  const { kube } = deps;
  const namespaces = config.watchNamespaces;
  const list = jsonLists(kube.kubeConfig, deps);
  // A page at a time, as plain JSON, each object cut down to what scrape reads as it arrives: read
  // whole as client-node's models, a 20 000-pod list ran out of the chart's heap (bench:scrape).
  const podsIn = (path: string) => list(path, (o) => podView(o as PodView));
  try {
    const [pods, nodes] = await Promise.all([
      namespaces.length === 0
        ? podsIn('/api/v1/pods')
        : Promise.all(
            namespaces.map((namespace) => podsIn(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`)),
          ).then((x) => x.flat()),
      list('/api/v1/nodes', (o) => nodeView(o as NodeView)),
    ]);
    const [podMetrics, nodeMetrics] = await Promise.all([
      readPodMetrics(kube.metrics, namespaces, log),
      readNodeMetrics(kube.metrics, log),
    ]);
    return { pods, nodes, podMetrics, nodeMetrics };
  } catch (error) {
    throw apiFailure('reading the cluster', error);
  }
}

// A cluster without metrics-server still yields pod and node state: degrade, do not fail.
async function readPodMetrics(
  metrics: k8s.Metrics,
  namespaces: readonly string[],
  log: Logger,
): Promise<k8s.PodMetric[]> {
  try {
    if (namespaces.length === 0) return (await metrics.getPodMetrics()).items;
    return (await Promise.all(namespaces.map((ns) => metrics.getPodMetrics(ns)))).flatMap((l) => l.items);
  } catch (error) {
    if (statusOf(error) === 404) {
      log.warn('metrics.k8s.io is not available; scraping pod state only');
      return [];
    }
    throw error;
  }
}

async function readNodeMetrics(metrics: k8s.Metrics, log: Logger): Promise<k8s.NodeMetric[]> {
  try {
    return (await metrics.getNodeMetrics()).items;
  } catch (error) {
    if (statusOf(error) === 404) {
      log.warn('metrics.k8s.io nodes are not available');
      return [];
    }
    throw error;
  }
}

/** History is read at the live scrape's own resolution: one sample a minute. */
const BACKFILL_STEP_SECONDS = 60;
/** A backfilled sample's JSON is at most about this large (a pod container series with a limit). */
const BACKFILL_SAMPLE_BYTES = 260;

/**
 * Run the PromQL of every valid Detector; an invalid Detector is skipped (score reports it). A
 * Detector not yet warmed at its current generation gets its series' recent history instead of
 * their current value (query_range, one series per entry of `history`), so score starts them with
 * a learnt baseline instead of a day of learning; its status records the warm start first, so a
 * failed delivery is not repeated every minute.
 */
async function readPrometheus(
  deps: ScrapeDeps,
  config: Config,
  baseUrl: string,
  now: Date,
  log: Logger,
): Promise<{ series: PromSeries[]; history: Sample[][] }> {
  const items = await listDetectors(deps.kube);
  const options = deps.fetch ? { fetch: deps.fetch } : {};
  // Two Detectors may watch one series two ways (a forecast and a deviation): each query runs once
  // per scrape and each series is sent once, with the limit either Detector's limit query gives.
  const queried = new Map<string, Promise<InstantSample[]>>();
  const query = (promql: string) => {
    let results = queried.get(promql);
    if (!results) queried.set(promql, (results = queryInstant(baseUrl, promql, options)));
    return results;
  };
  const series = new Map<string, PromSeries>();
  const seriesId = (signal: string, labels: Readonly<Record<string, string>>) =>
    `${signal}\u0000${entityKeyOf(labels) ?? JSON.stringify(labels)}`;
  const history: Sample[][] = [];
  const backfilled = new Set<string>();
  for (const item of items) {
    const spec = DetectorSpec.safeParse(item.spec);
    if (!spec.success || !spec.data.signal.promql || !spec.data.signal.name) continue;
    const { name: signal, promql, limitPromql } = spec.data.signal;
    const results = await query(promql);
    const limits = limitPromql ? limitsByEntity(await query(limitPromql)) : undefined;
    const limitOf = (labels: Readonly<Record<string, string>>) => limits?.get(entityKeyOf(labels) ?? '');
    const past = await readHistory(
      deps,
      config,
      item,
      { baseUrl, promql, options, seriesCount: results.length, now },
      log,
    );
    if (past && past.length > 0) {
      for (const r of past) {
        const id = seriesId(signal, r.labels);
        if (backfilled.has(id)) continue;
        backfilled.add(id);
        history.push(seriesSamples(signal, r.labels, r.points, limitOf(r.labels)));
      }
      continue;
    }
    for (const r of results) {
      const id = seriesId(signal, r.labels);
      const limit = limitOf(r.labels) ?? series.get(id)?.limit;
      series.set(id, { signal, labels: r.labels, value: r.value, at: r.at, ...(limit ? { limit } : {}) });
    }
    log.debug({ detector: item.metadata?.name, series: results.length, limits: limits?.size }, 'prometheus');
  }
  // A series another Detector backfilled this scrape already has its recent points.
  return { series: [...series].filter(([id]) => !backfilled.has(id)).map(([, s]) => s), history };
}

/**
 * A Detector's recent history when it has not been warmed at its generation: a window of
 * `config.backfill.windowMs`, shrunk so that its series stay within the sample budget and each
 * series' history fits one event. Undefined when none is due or it cannot be had (the current
 * values are used: a failed warm start only means learning as usual).
 */
async function readHistory(
  deps: ScrapeDeps,
  config: Config,
  item: DetectorObject,
  query: { baseUrl: string; promql: string; options: QueryOptions; seriesCount: number; now: Date },
  log: Logger,
): Promise<RangeSeries[] | undefined> {
  const generation = item.metadata?.generation ?? 0;
  const name = item.metadata?.name ?? '';
  if (config.backfill.windowMs <= 0 || item.status?.backfill?.observedGeneration === generation)
    return undefined;
  const perSeries = Math.min(
    Math.floor(config.backfill.maxSamples / Math.max(1, query.seriesCount)),
    Math.floor((config.maxEventBytes - 1024) / BACKFILL_SAMPLE_BYTES),
  );
  const windowSeconds = Math.floor(
    Math.min(config.backfill.windowMs / 1000, (perSeries - 1) * BACKFILL_STEP_SECONDS),
  );
  if (windowSeconds < BACKFILL_STEP_SECONDS) {
    // Recorded as done (nothing sent), so this is said once, not every minute.
    await markBackfilled(deps.kube, name, {
      observedGeneration: generation,
      at: query.now.toISOString(),
      samples: 0,
      windowSeconds: 0,
    });
    log.warn(
      { detector: name, series: query.seriesCount, maxSamples: config.backfill.maxSamples },
      'too many series to backfill within the sample budget; they learn as usual',
    );
    return undefined;
  }
  const range = {
    start: new Date(query.now.getTime() - windowSeconds * 1000),
    end: query.now,
    stepSeconds: BACKFILL_STEP_SECONDS,
  };
  let past: RangeSeries[];
  try {
    past = await queryRange(query.baseUrl, query.promql, range, query.options);
  } catch (error) {
    log.warn(
      { detector: name, error: (error as Error).message },
      'backfill query failed; current values only',
    );
    return undefined;
  }
  const samples = past.reduce((n, r) => n + r.points.length, 0);
  const marked = await markBackfilled(deps.kube, name, {
    observedGeneration: generation,
    at: query.now.toISOString(),
    samples,
    windowSeconds,
  });
  if (!marked) {
    log.warn({ detector: name }, 'could not record the backfill on the Detector; current values only');
    return undefined;
  }
  log.info({ detector: name, series: past.length, samples, windowSeconds }, 'backfilled');
  return past;
}

async function markBackfilled(
  kube: KubeClients,
  name: string,
  backfill: Record<string, unknown>,
): Promise<boolean> {
  try {
    await patchDetectorStatus(kube, name, { backfill });
    return true;
  } catch {
    return false;
  }
}

/** The object a series names, as a key (undefined when it names none). */
function entityKeyOf(labels: Readonly<Record<string, string>>): string | undefined {
  const e = entityFromLabels(labels);
  return e && [e.kind, e.namespace ?? '', e.name, e.container ?? ''].join('/');
}

/**
 * A limit query's series by the object each names. Two series naming one object (a limit query
 * that keeps a label the usage query sums away) make its limit ambiguous: it gets none.
 */
export function limitsByEntity(
  series: readonly { labels: Readonly<Record<string, string>>; value: number }[],
) {
  const out = new Map<string, number>();
  const ambiguous = new Set<string>();
  for (const s of series) {
    const key = entityKeyOf(s.labels);
    if (key === undefined || !(s.value > 0) || !Number.isFinite(s.value)) continue;
    if (out.has(key) && out.get(key) !== s.value) ambiguous.add(key);
    out.set(key, s.value);
  }
  for (const key of ambiguous) out.delete(key);
  return out;
}

/** Real dependencies from configuration. */
export function createDeps(config: Config): Promise<ScrapeDeps> {
  return Promise.resolve({ kube: createKubeClients(loadKubeConfig(config)) });
}
