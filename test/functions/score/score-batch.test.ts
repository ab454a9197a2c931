import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../shared/contracts/index.js';
import { DetectorSpec } from '../../../shared/contracts/index.js';
import { groupSamples, scoreSeries, type SeriesRecord } from '../../../functions/score/score-batch.js';
import { seriesKey } from '../../../shared/series/index.js';
import { episodeRuleFor, forecastRuleFor, rulesFor } from '../../../functions/score/rules.js';
import { parseDuration } from '../../../shared/duration/index.js';
import { symptomsOf } from '../../../functions/score/symptoms.js';

const MIN = 60_000;
const pod = { kind: 'Pod', namespace: 'shop', name: 'cart-1', container: 'app' };
const at = (m: number) => new Date(Date.UTC(2026, 0, 1) + m * MIN).toISOString();
const mem = (m: number, value: number): Sample => ({
  entity: pod,
  signal: 'memory_working_set_bytes',
  value,
  unit: 'bytes',
  at: at(m),
  limit: 256 * 2 ** 20,
  labels: { app: 'cart' },
});

function feed(samples: Sample[], custom = [] as Parameters<typeof scoreSeries>[3]) {
  let record: SeriesRecord | undefined;
  const anomalies = [];
  const rejected = [];
  for (const s of samples) {
    const r = scoreSeries(seriesKey(s), [s], record, custom);
    record = r.record;
    anomalies.push(...r.anomalies);
    rejected.push(...r.rejected);
  }
  return { anomalies, rejected, record };
}

describe('scoreSeries', () => {
  it('predicts an OOM kill well before it happens, once, then refreshes', () => {
    // 110 MiB + 1 MiB/min: the 256 MiB limit is reached at minute 146.
    const samples = Array.from({ length: 150 }, (_, m) =>
      mem(m, (110 + m) * 2 ** 20 + ((m * 7919) % 13) * 2 ** 16),
    );
    const { anomalies } = feed(samples);
    const forecasts = anomalies.filter((a) => a.kind === 'forecast');
    expect(forecasts.length).toBeGreaterThan(0);
    const first = forecasts[0];
    const minute = (Date.parse(first?.observedAt ?? '') - Date.parse(at(0))) / MIN;
    expect(146 - minute).toBeGreaterThanOrEqual(10);
    expect(first?.forecast?.secondsToLimit).toBeGreaterThan(0);
    expect(new Set(forecasts.map((a) => a.anomalyId)).size).toBe(1);
  });

  it("predicts a node's CPU saturating its allocatable CPU, and not a busy but level node", () => {
    const node = (m: number, cores: number): Sample => ({
      entity: { kind: 'Node', name: 'node-1' },
      signal: 'node_cpu_usage_cores',
      value: cores,
      unit: 'cores',
      at: at(m),
      limit: 4,
    });
    // A batch job adding 0.05 cores a minute from minute 60 on a node at 1.5 of 4 cores: saturated at minute 110.
    const noise = (m: number) => ((m * 7919) % 13) * 0.004;
    const ramp = feed(
      Array.from({ length: 110 }, (_, m) => node(m, 1.5 + Math.max(0, m - 60) * 0.05 + noise(m))),
    );
    const forecasts = ramp.anomalies.filter((a) => a.detector === 'builtin-node-cpu-saturation-forecast');
    expect(forecasts[0]?.forecast?.limit).toBe(4);
    const minute = (Date.parse(forecasts[0]?.observedAt ?? '') - Date.parse(at(0))) / MIN;
    expect(110 - minute).toBeGreaterThanOrEqual(5);
    // Three quarters busy, level: nothing.
    const level = feed(Array.from({ length: 200 }, (_, m) => node(m, 3 + Math.sin(m / 5) * 0.2 + noise(m))));
    expect(level.anomalies).toEqual([]);
  });

  it("counts a built-in usage rise only past the request or near the limit: a pod's CPU doubling within its request is load", () => {
    // 55m of CPU for two hours, then 110m for half an hour (a traffic spike doubling it).
    const noise = (m: number) => ((m * 7919) % 13) * 0.0002;
    const cpu = (m: number, request: number | undefined, limit: number): Sample => ({
      entity: pod,
      signal: 'cpu_usage_cores',
      value: (m < 120 ? 0.055 : 0.11) + noise(m),
      unit: 'cores',
      at: at(m),
      limit,
      ...(request === undefined ? {} : { request }),
    });
    const run = (request?: number, custom: Parameters<typeof scoreSeries>[3] = [], limit = 1) =>
      feed(
        Array.from({ length: 150 }, (_, m) => cpu(m, request, limit)),
        custom,
      ).anomalies.filter((a) => a.signal === 'cpu_usage_cores');
    // Within its 200m request: nothing.
    expect(run(0.2)).toEqual([]);
    // Past a 100m request, or with none: the same rise is an anomaly.
    expect(run(0.1).map((a) => a.detector)).toContain('builtin-cpu-deviation');
    expect(run(undefined).map((a) => a.detector)).toContain('builtin-cpu-deviation');
    // Request and limit 120m (Guaranteed QoS): within the request, but at the limit, throttled.
    expect(run(0.12, [], 0.12).map((a) => a.detector)).toContain('builtin-cpu-deviation');
    // A Detector resource on the signal judges by its own spec, request or not.
    const custom = [
      { name: 'cpu', spec: DetectorSpec.parse({ signal: { metric: 'cpu_usage_cores' }, minDuration: '3m' }) },
    ];
    expect(run(0.2, custom).map((a) => a.detector)).toContain('cpu');
  });

  it("alerts on a Service's errors jumping in its first minutes, but lets a young pod settle", () => {
    const errors = [
      {
        name: 'http-error-ratio',
        spec: DetectorSpec.parse({
          target: { kinds: ['Service'] },
          signal: { promql: 'http_error_ratio', name: 'http_error_ratio', direction: 'up' },
          minChange: 0.05,
          minDuration: '2m',
        }),
      },
    ];
    const service = (m: number, value: number): Sample => ({
      entity: { kind: 'Service', namespace: 'shop', name: 'checkout' },
      signal: 'http_error_ratio',
      value,
      at: at(m),
    });
    // A bad rollout 7 minutes after kurative first saw the Service: 30 % of requests fail.
    const ratio = (m: number) => (m < 7 ? 0.001 * (m % 2) : 0.3 + 0.01 * (m % 3));
    const bad = feed(
      Array.from({ length: 20 }, (_, m) => service(m, ratio(m))),
      errors,
    ).anomalies;
    expect(bad.length).toBeGreaterThan(0);
    expect(bad[0]?.onset).toBe(at(7));
    // Under the rule's minChange (2 % more errors): nothing, young or not.
    const small = feed(
      Array.from({ length: 40 }, (_, m) => service(m, m < 7 ? 0.001 : 0.02)),
      errors,
    ).anomalies;
    expect(small).toEqual([]);
    // A pod's memory climbing as its process warms up (110 → 220 MiB over its first minutes) is
    // the same jump, but a new process's: its series learns it.
    const warming = feed(
      Array.from({ length: 60 }, (_, m) => mem(m, (m < 7 ? 110 : 220 + (m % 3)) * 2 ** 20)),
    ).anomalies;
    expect(warming.filter((a) => a.kind === 'deviation')).toEqual([]);
  });

  it('emits nothing for a healthy series', () => {
    const samples = Array.from({ length: 300 }, (_, m) => mem(m, (110 + Math.sin(m / 7) * 3) * 2 ** 20));
    expect(feed(samples).anomalies).toEqual([]);
  });

  it('rejects out-of-order and duplicate samples and does not learn from them', () => {
    const { rejected, record } = feed([mem(2, 1e8), mem(1, 9e8), mem(2, 9e8), mem(3, 1e8)]);
    expect(rejected.map((r) => r.reason)).toEqual([
      expect.stringMatching(/out of order/),
      expect.stringMatching(/out of order|duplicate/),
    ]);
    expect(record?.t).toBe(Date.parse(at(3)));
  });

  it('lets a Detector resource replace the built-in rule of the same algorithm only', () => {
    const custom = [
      {
        name: 'leak',
        spec: DetectorSpec.parse({
          signal: { metric: 'memory_working_set_bytes' },
          algorithm: 'forecast-limit',
          horizon: '45m',
          target: { namespaces: ['shop'], selector: { matchLabels: { app: 'cart' } } },
        }),
      },
    ];
    expect(rulesFor(mem(0, 1), custom).map((r) => r.name)).toEqual(['leak', 'builtin-memory-deviation']);
    expect(rulesFor({ ...mem(0, 1), labels: { app: 'other' } }, custom).map((r) => r.name)).toEqual([
      'builtin-memory-deviation',
      'builtin-memory-oom-forecast',
    ]);
    expect(rulesFor({ ...mem(0, 1), signal: 'restarts_total' }, custom)).toEqual([]);
    // Rule sets asked for in turn (the last one is remembered first): each gets its own rules.
    expect(rulesFor(mem(0, 1), []).map((r) => r.name)).toEqual([
      'builtin-memory-deviation',
      'builtin-memory-oom-forecast',
    ]);
    expect(rulesFor(mem(0, 1), custom).map((r) => r.name)).toEqual(['leak', 'builtin-memory-deviation']);
  });

  it("works out a forecast rule's settings from its own spec, whichever spec was asked for last", () => {
    const slow = DetectorSpec.parse({
      signal: { metric: 'memory_working_set_bytes' },
      algorithm: 'forecast-limit',
      horizon: '1h30m',
      minDuration: '5m',
      sensitivity: 1,
    });
    const fast = DetectorSpec.parse({
      signal: { metric: 'memory_working_set_bytes' },
      algorithm: 'forecast-limit',
      horizon: '10m',
    });
    for (let i = 0; i < 2; i++) {
      expect(forecastRuleFor(slow)).toEqual({
        horizonMs: 90 * 60_000,
        minTStat: 3,
        episode: { threshold: 0.5, clearThreshold: 0.5, minDurationMs: 5 * 60_000, refreshMs: 300_000 },
      });
      expect(forecastRuleFor(fast)).toMatchObject({ horizonMs: 10 * 60_000, minTStat: 5 });
      expect(episodeRuleFor(slow).minDurationMs).toBe(5 * 60_000);
      expect(episodeRuleFor(fast).minDurationMs).toBe(parseDuration(fast.minDuration));
    }
  });

  it('groups a batch by series in time order', () => {
    const groups = groupSamples([mem(2, 1), mem(1, 1), { ...mem(1, 1), entity: { ...pod, name: 'cart-2' } }]);
    expect([...groups.values()].map((g) => g.map((s) => s.at))).toEqual([[at(1), at(2)], [at(1)]]);
  });
});

describe('symptoms', () => {
  const t = '2026-01-01T00:00:00Z';
  it.each([
    ['OOMKilling', 'Memory cgroup out of memory', 'OOMKilled'],
    ['BackOff', 'Back-off restarting failed container app', 'CrashLoopBackOff'],
    ['Failed', 'Failed to pull image "x": not found', 'ImagePullBackOff'],
    ['FailedScheduling', '0/3 nodes are available: 3 Insufficient cpu.', 'FailedScheduling'],
    ['FailedCreate', 'exceeded quota', 'FailedCreate'],
    ['Unhealthy', 'Readiness probe failed', 'ProbeFailure'],
  ])('turns a Warning %s event into %s', (reason, message, symptom) => {
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'shop' },
      type: 'Warning',
      reason,
      message,
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'shop' },
      lastTimestamp: t,
    };
    expect(symptomsOf(event, t).map((s) => s.reason)).toEqual([symptom]);
  });

  it('ignores ordinary Normal events', () => {
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'shop' },
      type: 'Normal',
      reason: 'Pulled',
      message: 'ok',
      involvedObject: { kind: 'Pod', name: 'p' },
    };
    expect(symptomsOf(event, t)).toEqual([]);
  });

  it('reads container states of pods and conditions of nodes', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop' },
      status: {
        containerStatuses: [
          {
            name: 'app',
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { reason: 'OOMKilled', finishedAt: t } },
          },
        ],
      },
    };
    expect(symptomsOf(pod, t).map((s) => `${s.entity.container}:${s.reason}`)).toEqual([
      'app:CrashLoopBackOff',
      'app:OOMKilled',
    ]);
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: {
        conditions: [
          { type: 'Ready', status: 'Unknown', lastTransitionTime: t },
          { type: 'DiskPressure', status: 'True' },
        ],
      },
    };
    expect(symptomsOf(node, t).map((s) => s.reason)).toEqual(['NodeNotReady', 'DiskPressure']);
  });
});
