import { describe, expect, it } from 'vitest';
import { clusterChanges } from '../../cli/report.js';
import type { DiagnosisData } from '../../shared/contracts/index.js';
import { runScenario, scenario, SCENARIOS, type ScenarioRun } from '../support/pipeline.js';

/** In observe mode kurative may write its own records (Incidents, Events, status) and nothing else. */
function expectNoClusterChange(run: ScenarioRun): void {
  const audit = run.pipeline.sandbox.api.apiServer.audit;
  expect(audit.length).toBeGreaterThan(0);
  expect(clusterChanges(audit)).toEqual([]);
}

describe('end to end in observe mode: every scenario detected, nothing in the cluster changed', () => {
  it('memory-leak: predicts the OOM kill at least 10 simulated minutes before it happens', async () => {
    const run = await runScenario(scenario('memory-leak'));
    const { anomalies, pipeline } = run;
    expectNoClusterChange(run);
    const outcome = pipeline.sandbox.simulator.outcome();
    expect(outcome.oomKills).toBeGreaterThan(0);
    const firstOom = (Date.parse(outcome.firstFailureAt ?? '') - pipeline.sandbox.simulator.startMs) / 60_000;
    const forecasts = anomalies.filter(
      (a) => a.data.kind === 'forecast' && a.data.entity.name.startsWith('cart-'),
    );
    expect(forecasts.length).toBeGreaterThan(0);
    expect(firstOom - (forecasts[0]?.minute ?? Infinity)).toBeGreaterThanOrEqual(10);
    // Nothing else in the shop looked abnormal before the first OOM kill.
    const early = anomalies.filter((a) => a.minute < firstOom && !a.data.entity.name.startsWith('cart-'));
    expect(early).toEqual([]);
    // And the OOM kill itself is reported as a symptom.
    expect(anomalies.some((a) => a.data.kind === 'symptom' && a.data.reason === 'OOMKilled')).toBe(true);
  }, 120_000);

  it('disk fill at a log-like rate: predicts the eviction at least 10 simulated minutes ahead', async () => {
    // The disk-fill scenario's cart pods, filling their 1Gi ephemeral storage at 512 KiB/s instead of 4 MiB/s.
    const base = scenario('disk-fill');
    const slow = {
      ...base,
      faults: base.faults.map((f) =>
        f.type === 'disk-fill' ? { ...f, params: { ...f.params, rate: '512Ki' } } : f,
      ),
    };
    const run = await runScenario(slow);
    expectNoClusterChange(run);
    const evicted = run.anomalies.find((a) => a.data.reason === 'Evicted');
    expect(evicted).toBeDefined();
    const forecasts = run.anomalies.filter(
      (a) => a.data.kind === 'forecast' && a.data.detector === 'ephemeral-storage-fill',
    );
    expect(forecasts.length).toBeGreaterThan(0);
    expect(forecasts[0]?.data.entity).toMatchObject({ kind: 'Pod', namespace: 'shop', container: 'app' });
    expect(forecasts[0]?.data.forecast?.limit).toBe(2 ** 30);
    expect((evicted?.minute ?? 0) - (forecasts[0]?.minute ?? Infinity)).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it('volume-fill: predicts the full PersistentVolumeClaim at least 10 simulated minutes ahead, and names it', async () => {
    const run = await runScenario(scenario('volume-fill'));
    expectNoClusterChange(run);
    const { anomalies, pipeline } = run;
    const outcome = pipeline.sandbox.simulator.outcome();
    expect(outcome.crashes).toBeGreaterThan(0);
    const firstCrash = anomalies.find((a) => a.data.reason === 'CrashLoopBackOff');
    const forecasts = anomalies.filter(
      (a) => a.data.kind === 'forecast' && a.data.detector === 'volume-fill',
    );
    expect(forecasts[0]?.data.entity).toEqual({
      kind: 'PersistentVolumeClaim',
      namespace: 'shop',
      name: 'data-orders-db-0',
    });
    expect(forecasts[0]?.data.forecast?.limit).toBe(2 * 2 ** 30);
    expect((firstCrash?.minute ?? 0) - (forecasts[0]?.minute ?? Infinity)).toBeGreaterThanOrEqual(10);
    // Nothing before the fault: the database's slow, steady growth is not an alert.
    expect(anomalies.filter((a) => a.minute < 20)).toEqual([]);
    const diagnoses = run.events.filter((e) => e.type === 'dev.kurative.diagnosis.v1');
    const first = diagnoses[0]?.data as DiagnosisData | undefined;
    expect(first?.candidates[0]).toMatchObject({
      object: { kind: 'PersistentVolumeClaim', name: 'data-orders-db-0' },
      faultClass: 'disk-fill',
    });
    expect(first?.recommendedActions[0]?.type).toBe('expandVolume');
    // Still the cause once the database crash-loops: the full volume explains its pod's crashes.
    const last = diagnoses[diagnoses.length - 1]?.data as DiagnosisData | undefined;
    expect(last?.candidates[0]?.object.kind).toBe('PersistentVolumeClaim');
  }, 120_000);

  it('daily-peak: a whole simulated healthy day, with a ±60 % afternoon peak, emits no anomaly', async () => {
    const s = scenario('daily-peak');
    expect(s.duration).toBeGreaterThanOrEqual(24 * 3_600_000);
    const run = await runScenario(s);
    expect(run.events.filter((e) => e.type === 'dev.kurative.metrics.v1').length).toBeGreaterThan(1_000);
    expect(
      run.anomalies.map((a) => `${a.minute} ${a.data.detector} ${a.data.entity.name} ${a.data.signal}`),
    ).toEqual([]);
    expect(clusterChanges(run.pipeline.sandbox.api.apiServer.audit)).toEqual([]);
  }, 600_000);

  for (const s of SCENARIOS.filter((x) => x.benign && x.name !== 'daily-peak')) {
    it(`${s.name}: benign, so no anomaly at all`, async () => {
      const run = await runScenario(s);
      const { anomalies, events } = run;
      expect(events.some((e) => e.type === 'dev.kurative.metrics.v1')).toBe(true);
      expect(anomalies.map((a) => `${a.data.detector} ${a.data.entity.name} ${a.data.signal}`)).toEqual([]);
      expect(clusterChanges(run.pipeline.sandbox.api.apiServer.audit)).toEqual([]);
    }, 120_000);
  }

  it('traffic-spike at 3× traffic, under other seeds: pods busier within their requests are load, not anomalies', async () => {
    // At 3× every frontend pod doubles its CPU (55m → 115m) and its node's rises with it, all within
    // what the pods requested: before usage deviations counted only past the request, each of these
    // runs emitted 10 anomalies.
    const base = scenario('traffic-spike');
    for (const seed of [5, 777]) {
      const run = await runScenario({
        ...base,
        seed,
        faults: base.faults.map((f) => ({ ...f, params: { ...f.params, multiplier: 3 } })),
      });
      expect(
        run.anomalies.map((a) => `${seed} ${a.minute} ${a.data.detector} ${a.data.entity.name}`),
      ).toEqual([]);
    }
  }, 240_000);

  it.each([
    'node-failure',
    'noisy-neighbour',
    'cpu-hog',
    'bad-rollout',
    'bad-rollout-crashloop',
    'network-latency',
    'config-change',
    'disk-fill',
    'limits-too-low',
    'heap-too-large',
    'limitrange-violation',
    'unschedulable-requests',
    'node-taint',
    'image-pull',
    'quota-exceeded',
    'node-affinity-mismatch',
    'node-cpu-saturation',
  ])(
    '%s: the fault is detected',
    async (name) => {
      const s = scenario(name);
      const run = await runScenario(s);
      const { anomalies } = run;
      expectNoClusterChange(run);
      const faultAt = Math.min(...s.faults.map((f) => f.at)) / 60_000;
      expect(anomalies.filter((a) => a.minute >= faultAt).length).toBeGreaterThan(0);
      expect(anomalies.filter((a) => a.minute < faultAt)).toEqual([]);
    },
    120_000,
  );
});
