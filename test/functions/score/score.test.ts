import { describe, expect, it } from 'vitest';
import { definition as score } from '../../../functions/score/index.js';
import {
  EVENT_TYPES,
  type AnomalyData,
  type MetricsData,
  type Sample,
} from '../../../shared/contracts/index.js';
import { MemoryStore } from '../../../shared/store/memory.js';
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

async function scoreBatch(samples: Sample[]): Promise<AnomalyData[]> {
  const data: MetricsData = {
    scrapeId: 's',
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
    { deps: { store: new MemoryStore() }, log: silentLog, config: testConfig() },
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
