import { describe, expect, it } from 'vitest';
import { definition as score, type ScoreDeps } from '../../../functions/score/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import {
  EVENT_TYPES,
  type AnomalyData,
  type MetricsData,
  type Sample,
} from '../../../shared/contracts/index.js';
import { MemoryStore } from '../../../shared/store/memory.js';
import { BUCKET_KEYS, readBucket, SERIES_BUCKET_CODEC } from '../../../functions/score/series-bucket.js';
import { silentLog, testConfig } from '../../support/runtime.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const entity = { kind: 'Pod', namespace: 'shop', name: 'cart-1', container: 'app' };

/** Four hours of a pod's CPU, one sample a minute, with ten busy minutes starting at `busyFrom`. */
function history(busyFrom: number): Sample[] {
  return Array.from({ length: 240 }, (_, m) => ({
    entity,
    signal: 'cpu_usage_cores',
    value: (m >= busyFrom && m < busyFrom + 10 ? 2 : 0.2) + 0.01 * Math.sin(m),
    unit: 'cores',
    at: new Date(T0 + m * MIN).toISOString(),
  }));
}

async function scoreBatch(
  samples: Sample[],
  deps: ScoreDeps = { store: new MemoryStore() },
  scrapeId = 's',
): Promise<AnomalyData[]> {
  const data: MetricsData = {
    scrapeId,
    scrapedAt: new Date(T0 + 239 * MIN).toISOString(),
    source: 'mixed',
    batch: { index: 0, count: 1 },
    samples,
  };
  const out = (await score.handle(
    {
      id: 'm1',
      source: '/scrape',
      type: EVENT_TYPES.metrics,
      subject: undefined,
      time: data.scrapedAt,
      incidentId: undefined,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data,
      extensions: {},
    },
    { deps, log: silentLog, config: testConfig() },
  )) as { type: string; data: AnomalyData }[];
  return out.map((e) => e.data);
}

describe('score on a backfilled history (a Detector warm start)', () => {
  it('learns from it, but what was abnormal hours ago raises no anomaly', async () => {
    expect(await scoreBatch(history(100))).toEqual([]);
  });

  it('still raises what is abnormal in its last minutes', async () => {
    const anomalies = await scoreBatch(history(231));
    expect(anomalies.length).toBeGreaterThan(0);
    expect(anomalies[0]).toMatchObject({ entity, signal: 'cpu_usage_cores', kind: 'deviation' });
  });
});

describe('Detector resources, read once a scrape', () => {
  /** A cluster client whose Detector LISTs are counted, answering with `detectors` or failing. */
  function countingKube(answer: () => Promise<{ items: unknown[] }>) {
    const calls = { list: 0 };
    const kube = {
      custom: {
        listClusterCustomObject: () => {
          calls.list++;
          return answer();
        },
        patchClusterCustomObjectStatus: () => Promise.resolve({}),
      },
    } as unknown as KubeClients;
    return { kube, calls };
  }
  const busyDetector = {
    metadata: { name: 'cpu-any', generation: 1 },
    // Replaces the built-in CPU rule: its anomalies name it.
    spec: { signal: { metric: 'cpu_usage_cores' }, minDuration: '1m', sensitivity: 0.9 },
  };

  it("lists them once for a scrape's events, again for the next scrape, and uses them", async () => {
    const { kube, calls } = countingKube(() => Promise.resolve({ items: [busyDetector] }));
    const deps: ScoreDeps = { store: new MemoryStore(), kube };
    const samples = history(231);
    const events = [samples.slice(0, 80), samples.slice(80, 160), samples.slice(160)];
    const anomalies: AnomalyData[] = [];
    for (const part of events) anomalies.push(...(await scoreBatch(part, deps, 'scrape-1')));
    expect(calls.list).toBe(1);
    expect(anomalies.some((a) => a.detector === 'cpu-any')).toBe(true);
    await scoreBatch([], deps, 'scrape-2');
    expect(calls.list).toBe(2);
  });

  it('does not keep a failed LIST: the retried event lists again', async () => {
    let fail = true;
    const { kube, calls } = countingKube(() =>
      fail
        ? Promise.reject(Object.assign(new Error('unavailable'), { code: 503 }))
        : Promise.resolve({ items: [] }),
    );
    const deps: ScoreDeps = { store: new MemoryStore(), kube };
    await expect(scoreBatch(history(100).slice(0, 10), deps, 'scrape-1')).rejects.toThrow();
    fail = false;
    await scoreBatch(history(100).slice(0, 10), deps, 'scrape-1');
    expect(calls.list).toBe(2);
  });
});

describe('series no rule applies to', () => {
  it('are neither scored nor stored (ready and restart counts are symptoms, not levels)', async () => {
    const store = new MemoryStore();
    const at = new Date(T0 + 239 * MIN).toISOString();
    const of = (signal: string, value: number): Sample => ({ entity, signal, value, at });
    expect(await scoreBatch([of('ready', 1), of('restarts_total', 3)], { store })).toEqual([]);
    expect((await store.load(BUCKET_KEYS)).size).toBe(0);
    await scoreBatch([of('ready', 1), of('cpu_usage_cores', 0.2)], { store }, 's2');
    const buckets = await store.load(BUCKET_KEYS, SERIES_BUCKET_CODEC);
    const keys: string[] = [];
    for (const { value } of buckets.values()) readBucket(value, (key) => keys.push(key));
    expect(keys).toEqual([`series|Pod|shop|cart-1|app|cpu_usage_cores`]);
  });
});
