import { randomUUID } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import type { Config } from '../../shared/config/index.js';
import { DetectorSpec, EVENT_TYPES } from '../../shared/contracts/index.js';
import {
  apiFailure,
  createKubeClients,
  loadKubeConfig,
  statusOf,
  type KubeClients,
} from '../../shared/kube/index.js';
import type { Logger } from '../../shared/log/index.js';
import { listDetectors } from '../../shared/kube/detectors.js';
import { isOpenIncident, listIncidents } from '../../shared/kube/incidents.js';
import { queryInstant, type Fetch } from '../../shared/prometheus/index.js';
import { defineFunction, type OutboundEvent } from '../../shared/runtime/index.js';
import { chunkSamples } from './chunk.js';
import { buildSamples, entityFromLabels, type PromSeries } from './samples.js';

export interface ScrapeDeps {
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
    const { pods, podMetrics, nodes, nodeMetrics } = await readCluster(deps.kube, config, log);
    const prometheus = config.prometheusUrl ? await readPrometheus(deps, config.prometheusUrl, log) : [];
    const samples = buildSamples({ pods, podMetrics, nodes, nodeMetrics, prometheus, now });
    const source = prometheus.length > 0 ? 'mixed' : 'metrics.k8s.io';
    const { batches, oversized } = chunkSamples(samples, config.maxEventBytes, {
      scrapeId: randomUUID(),
      scrapedAt: now,
      source,
    });
    if (oversized > 0) log.warn({ oversized }, 'samples larger than an event were dropped');
    log.info({ samples: samples.length, batches: batches.length }, 'scraped');
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

async function readCluster(kube: KubeClients, config: Config, log: Logger) {
  const namespaces = config.watchNamespaces;
  try {
    const [pods, nodes] = await Promise.all([
      namespaces.length === 0
        ? kube.core.listPodForAllNamespaces().then((l) => l.items)
        : Promise.all(
            namespaces.map((namespace) => kube.core.listNamespacedPod({ namespace }).then((l) => l.items)),
          ).then((x) => x.flat()),
      kube.core.listNode().then((l) => l.items),
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

/** Run the PromQL of every valid Detector; an invalid Detector is skipped (score reports it). */
async function readPrometheus(deps: ScrapeDeps, baseUrl: string, log: Logger): Promise<PromSeries[]> {
  const items = await listDetectors(deps.kube);
  const out: PromSeries[] = [];
  for (const item of items) {
    const spec = DetectorSpec.safeParse(item.spec);
    if (!spec.success || !spec.data.signal.promql || !spec.data.signal.name) continue;
    const { name: signal, promql, limitPromql } = spec.data.signal;
    const options = deps.fetch ? { fetch: deps.fetch } : {};
    const results = await queryInstant(baseUrl, promql, options);
    const limits = limitPromql
      ? limitsByEntity(await queryInstant(baseUrl, limitPromql, options))
      : undefined;
    let unmatched = 0;
    for (const r of results) {
      const limit = limits?.get(entityKeyOf(r.labels) ?? '');
      if (limits && limit === undefined) unmatched++;
      out.push({ signal, labels: r.labels, value: r.value, at: r.at, ...(limit ? { limit } : {}) });
    }
    log.debug({ detector: item.metadata?.name, series: results.length, unmatched }, 'prometheus');
  }
  return out;
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
