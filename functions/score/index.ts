import { createHash } from 'node:crypto';
import type { Config } from '../../shared/config/index.js';
import {
  DetectorSpec,
  EVENT_TYPES,
  type AnomalyData,
  type MetricsData,
} from '../../shared/contracts/index.js';
import { createKubeClients, loadKubeConfig, statusOf, type KubeClients } from '../../shared/kube/index.js';
import type { Logger } from '../../shared/log/index.js';
import { defineFunction, type InboundOf, type OutboundEvent } from '../../shared/runtime/index.js';
import { listDetectors, patchDetectorStatus } from '../../shared/kube/detectors.js';
import { storeFromConfig, updateMany, withStore, type BaselineStore } from '../../shared/store/index.js';
import { groupSamples, scoreStored } from './score-batch.js';
import { rulesFor, type DetectorRule } from './rules.js';
import { symptomAnomaly, symptomsOf, type Symptom } from './symptoms.js';

export interface ScoreDeps {
  readonly store: BaselineStore;
  /** Reads Detector resources; undefined runs with the built-in rules only. */
  readonly kube?: KubeClients;
}

const SYMPTOM_REFRESH_MS = 5 * 60_000;
/** Samples older than this at scrape time (backfilled history) only teach. */
const RECENT_MS = 10 * 60_000;

type Accepted =
  typeof EVENT_TYPES.metrics | typeof EVENT_TYPES.apiServerAdd | typeof EVENT_TYPES.apiServerUpdate;

/** score: learn each series' baseline, and emit an anomaly for what is abnormal now or soon. */
export const definition = defineFunction<ScoreDeps, Accepted>({
  name: 'score',
  accepts: [EVENT_TYPES.metrics, EVENT_TYPES.apiServerAdd, EVENT_TYPES.apiServerUpdate],
  handle: async (event, { deps, log }) => {
    const anomalies =
      event.type === EVENT_TYPES.metrics
        ? await scoreMetrics(event.data, deps, log)
        : await scoreObject(event as InboundOf<typeof EVENT_TYPES.apiServerAdd>, deps);
    return anomalies.map((data): OutboundEvent => ({
      type: EVENT_TYPES.anomaly,
      data,
      subject: `${data.entity.kind}/${data.entity.namespace ?? ''}/${data.entity.name}`,
    }));
  },
});

async function scoreMetrics(data: MetricsData, deps: ScoreDeps, log: Logger): Promise<AnomalyData[]> {
  const detectors = await detectorsOfScrape(deps.kube, data.scrapeId, log);
  // The series no rule applies to are dropped in place (a Map may lose entries while it is walked).
  const bySeries = groupSamples(data.samples);
  bySeries.forEach((samples, key) => {
    if (!samples[0] || rulesFor(samples[0], detectors).length === 0) bySeries.delete(key);
  });
  if (bySeries.size === 0) return [];
  const found = new Map<string, readonly AnomalyData[]>();
  let rejected = 0;
  // A Detector's warm start sends its series' recent history: it teaches the baselines, but what
  // was abnormal hours ago is not news. Only samples from the last minutes may raise an anomaly.
  const scrapedAt = Date.parse(data.scrapedAt);
  const recent = scrapedAt - RECENT_MS;
  const isRecent = (a: AnomalyData) => !(Date.parse(a.observedAt) < recent);
  await withStore(() =>
    scoreStored(
      deps.store,
      bySeries,
      detectors,
      (key, result) => {
        const current = result.anomalies.length > 0 ? result.anomalies.filter(isRecent) : result.anomalies;
        if (current.length > 0) found.set(key, current);
        else found.delete(key);
        rejected += result.rejected.length;
      },
      { now: scrapedAt },
    ),
  );
  if (rejected > 0) log.warn({ rejected }, 'samples rejected (out of order or duplicate), not learned');
  return [...found.values()].flat();
}

async function scoreObject(
  event: InboundOf<typeof EVENT_TYPES.apiServerAdd>,
  deps: ScoreDeps,
): Promise<AnomalyData[]> {
  const now = event.time ?? new Date().toISOString();
  const symptoms = symptomsOf(event.data, now);
  if (symptoms.length === 0) return [];
  const keyOf = (s: Symptom) =>
    [
      'symptom',
      s.entity.kind,
      s.entity.namespace ?? '',
      s.entity.name,
      s.entity.container ?? '',
      s.reason,
    ].join('|');
  const bySymptom = new Map(symptoms.map((s) => [keyOf(s), s]));
  const emit = new Map<string, AnomalyData>();
  await withStore(() =>
    updateMany<{ onset: string; last: number }>(deps.store, [...bySymptom.keys()], (key, current) => {
      const s = bySymptom.get(key) as Symptom;
      const at = Date.parse(s.at) || Date.parse(now);
      emit.delete(key);
      if (current && at - current.last < SYMPTOM_REFRESH_MS) return current;
      const onset = current && at - current.last < 4 * SYMPTOM_REFRESH_MS ? current.onset : s.at;
      const id = createHash('sha256').update(`${key}|${onset}`).digest('hex').slice(0, 24);
      emit.set(key, symptomAnomaly(s, id, s.at, onset));
      return { onset, last: at };
    }),
  );
  return [...emit.values()];
}

/**
 * The Detector rules a scrape's events are scored with, listed once per scrape and instance: a
 * 50 000-series scrape comes as ~40 events, and a LIST each was ~8 ms of client and sandbox API
 * server time apiece (~300 ms a scrape), and 40 LISTs a minute on the API server. A Detector
 * applied or changed counts from the next scrape (scrape reads them once a scrape too). Kept per
 * cluster client, for the last scrape only; a failed LIST is not kept (the retried event lists
 * again).
 */
const lastScrapeRules = new WeakMap<KubeClients, { scrapeId: string; rules: Promise<DetectorRule[]> }>();

function detectorsOfScrape(
  kube: KubeClients | undefined,
  scrapeId: string,
  log: Logger,
): Promise<DetectorRule[]> {
  if (!kube) return Promise.resolve([]);
  const last = lastScrapeRules.get(kube);
  if (last?.scrapeId === scrapeId) return last.rules;
  const rules = loadDetectors(kube, log);
  const entry = { scrapeId, rules };
  lastScrapeRules.set(kube, entry);
  rules.catch(() => {
    if (lastScrapeRules.get(kube) === entry) lastScrapeRules.delete(kube);
  });
  return rules;
}

/** Detector resources as rules; an invalid one is skipped and reported on its status. */
async function loadDetectors(kube: KubeClients, log: Logger): Promise<DetectorRule[]> {
  const items = await listDetectors(kube);
  const rules: DetectorRule[] = [];
  for (const item of items) {
    const name = item.metadata?.name ?? '';
    const parsed = DetectorSpec.safeParse(item.spec);
    const condition = parsed.success
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'Valid',
          message: 'the detector is applied to matching series',
        }
      : {
          type: 'Ready',
          status: 'False',
          reason: 'InvalidSpec',
          message: parsed.error.issues
            .map((i) => `${i.path.join('.')}: ${i.message}`)
            .join('; ')
            .slice(0, 1000),
        };
    if (parsed.success) rules.push({ name, spec: parsed.data });
    else log.warn({ detector: name, reason: condition.message }, 'invalid detector skipped');
    const current = item.status?.conditions?.find((c) => c.type === 'Ready');
    if (current?.status !== condition.status || current.reason !== condition.reason) {
      await writeDetectorStatus(
        kube,
        name,
        {
          ...condition,
          lastTransitionTime: new Date().toISOString(),
          observedGeneration: item.metadata?.generation ?? 0,
        },
        log,
      );
    }
  }
  return rules;
}

async function writeDetectorStatus(
  kube: KubeClients,
  name: string,
  condition: Record<string, unknown>,
  log: Logger,
): Promise<void> {
  try {
    await patchDetectorStatus(kube, name, { conditions: [condition] });
  } catch (error) {
    log.warn({ detector: name, status: statusOf(error) }, 'could not write detector status');
  }
}

/** Real dependencies from configuration. */
export function createDeps(config: Config): Promise<ScoreDeps> {
  let kube: KubeClients | undefined;
  const lazyKube = () => (kube ??= createKubeClients(loadKubeConfig(config)));
  const hasCluster = config.kubeconfig !== undefined || config.inCluster;
  return Promise.resolve({
    store: storeFromConfig(config, lazyKube),
    ...(hasCluster ? { kube: lazyKube() } : {}),
  });
}
