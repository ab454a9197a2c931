import { describe, expect, it } from 'vitest';
import { beyondPolicy, buildReport, relatedToRoot, reportLine, type ScenarioRun } from '../../cli/report.js';
import type { AuditRecord } from '../../sandbox/apiserver/server.js';
import type { Outcome } from '../../sandbox/simulator/outcomes.js';
import { Scenario } from '../../sandbox/simulator/scenario.js';
import {
  RemediationPolicySpec,
  type ActionSpec,
  type RemediationData,
} from '../../shared/contracts/index.js';

const MI = 2 ** 20;
const spec = RemediationPolicySpec.parse({
  mode: 'enforce',
  actions: {
    adjustResources: { allowed: true, maxFactor: 2, maxMemory: '1Gi' },
    scaleWorkload: { allowed: true, maxReplicas: 5, maxStep: 2 },
    restartPod: { allowed: true, maxDisruptedShare: 0.5 },
    moveOffNode: { allowed: true, maxNodes: 1 },
    expandVolume: { allowed: true, maxFactor: 2, maxSize: '8Gi' },
  },
});
const cart = { kind: 'Deployment', namespace: 'shop', name: 'cart' };
const action = (type: ActionSpec['type'], params: ActionSpec['params'] = {}, target = cart): ActionSpec => ({
  type,
  target,
  params,
  reason: '',
});

describe('the independent policy check of performed actions', () => {
  it('flags limits beyond maxFactor or the cap, and accepts those within', () => {
    const ok = action('adjustResources', {
      'app.limits.memory': 512 * MI,
      'app.limits.memory.from': 256 * MI,
    });
    expect(beyondPolicy(ok, [], spec, 3)).toBeUndefined();
    const tooMuch = action('adjustResources', {
      'app.limits.memory': 600 * MI,
      'app.limits.memory.from': 256 * MI,
    });
    expect(beyondPolicy(tooMuch, [], spec, 3)).toMatch(/more than 2×/);
    const overCap = action('adjustResources', {
      'app.limits.memory': 2048 * MI,
      'app.limits.memory.from': 1024 * MI,
    });
    expect(beyondPolicy(overCap, [], spec, 3)).toMatch(/cap/);
  });

  it('flags a claim grown more than maxFactor or above maxSize', () => {
    const GI = 2 ** 30;
    const claim = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data' };
    const grow = (storage: number, from: number) => action('expandVolume', { storage, from }, claim);
    expect(beyondPolicy(grow(3 * GI, 2 * GI), [], spec, undefined)).toBeUndefined();
    expect(beyondPolicy(grow(5 * GI, 2 * GI), [], spec, undefined)).toMatch(/more than 2×/);
    expect(beyondPolicy(grow(9 * GI, 6 * GI), [], spec, undefined)).toMatch(/above maxSize 8Gi/);
  });

  it('flags replicas outside the range or steps too large, and evictions beyond the share', () => {
    expect(beyondPolicy(action('scaleWorkload', { replicas: 6, from: 5 }), [], spec, 5)).toMatch(/outside/);
    expect(beyondPolicy(action('scaleWorkload', { replicas: 5, from: 2 }), [], spec, 2)).toMatch(
      /more than 2/,
    );
    expect(beyondPolicy(action('restartPod'), ['evicted Pod shop/a', 'evicted Pod shop/b'], spec, 3)).toMatch(
      /evicted 2 of 3/,
    );
    expect(beyondPolicy(action('restartPod'), ['evicted Pod shop/a'], spec, 3)).toBeUndefined();
  });

  it('flags actions not allowed and anything in a protected namespace', () => {
    expect(beyondPolicy(action('rollbackDeployment'), [], spec, 3)).toMatch(/not allowed/);
    const system = action('restartPod', {}, { kind: 'Deployment', namespace: 'kube-system', name: 'dns' });
    expect(beyondPolicy(system, [], spec, 3)).toMatch(/protected/);
  });
});

describe('relatedToRoot', () => {
  it('accepts the root itself and, for a configuration root, a workload reading it', () => {
    expect(relatedToRoot(cart, cart)).toBe(true);
    expect(relatedToRoot(cart, { kind: 'ConfigMap', namespace: 'shop', name: 'cfg' })).toBe(true);
    expect(relatedToRoot(cart, { kind: 'Deployment', namespace: 'shop', name: 'payment' })).toBe(false);
    expect(
      relatedToRoot({ kind: 'Node', name: 'n1' }, { kind: 'Deployment', namespace: 'shop', name: 'x' }),
    ).toBe(false);
    expect(relatedToRoot(cart, undefined)).toBe(false);
  });
});

function outcome(o: Partial<Outcome>): Outcome {
  return {
    simulatedSeconds: 3600,
    oomKills: 0,
    restarts: 0,
    crashes: 0,
    evictions: 0,
    downtimeSeconds: 0,
    degradedSeconds: 0,
    stalledRolloutSeconds: 0,
    errorSeconds: 0,
    criticalSeconds: 0,
    criticalIncidents: 0,
    cpuUtilisation: 0.4,
    memoryUtilisation: 0.5,
    firstFailureAt: undefined,
    firstImpairedAt: undefined,
    lastImpairedEndAt: undefined,
    impairedSeconds: 0,
    workloads: {},
    ...o,
  };
}

const START = Date.parse('2026-01-05T00:00:00Z');
const at = (minutes: number) => new Date(START + minutes * 60_000).toISOString();
const fault = Scenario.parse({
  name: 'f',
  description: 'd',
  faults: [{ at: '10m', type: 'rollout', target: cart }],
  truth: { rootCause: cart, faultClass: 'bad-rollout', actionWanted: true },
});
const benign = Scenario.parse({
  name: 'b',
  description: 'd',
  benign: true,
  truth: { faultClass: 'benign', actionWanted: false },
});
const done = (a: ActionSpec): RemediationData => ({
  incidentId: 'i',
  decisionId: 'd',
  action: a,
  status: 'succeeded',
  at: at(12),
  message: '',
  dryRun: false,
  changes: [],
});
function run(scenario: Scenario, mode: ScenarioRun['mode'], extra: Partial<ScenarioRun>): ScenarioRun {
  return {
    scenario,
    mode,
    startedAt: START,
    outcome: outcome({}),
    firstAnomalyAt: undefined,
    remediations: [],
    audit: [],
    invocations: 0,
    cpuMs: undefined,
    incidents: 0,
    wallSeconds: 1,
    ...extra,
  };
}

describe('buildReport', () => {
  it('compares recovery, incidents and false actions between modes', () => {
    const audit = [{ resource: 'deployments' } as AuditRecord, { resource: 'incidents' } as AuditRecord];
    const report = buildReport(
      [
        run(fault, 'none', {
          outcome: outcome({ firstImpairedAt: at(11), criticalIncidents: 2, oomKills: 1 }), // never recovers: 49 min
        }),
        run(fault, 'enforce', {
          outcome: outcome({ firstImpairedAt: at(11), lastImpairedEndAt: at(14), criticalIncidents: 1 }),
          firstAnomalyAt: START + 11 * 60_000,
          remediations: [done(action('scaleWorkload', { replicas: 4, from: 3 }))],
          audit,
          incidents: 1,
          invocations: 50,
        }),
        run(benign, 'none', {}),
        run(benign, 'enforce', {
          remediations: [done(action('scaleWorkload', { replicas: 4, from: 3 }))],
          invocations: 90,
          cpuMs: 1200,
        }),
        run(fault, 'observe', {}),
      ],
      { none: spec, observe: spec, enforce: spec },
    );
    expect(report.modes.none.mttrSeconds).toBe(49 * 60);
    expect(report.modes.enforce.mttrSeconds).toBe(180);
    expect(report.modes.enforce.mttdSeconds).toBe(60);
    expect(report.modes.none.criticalIncidents).toBe(3);
    expect(report.modes.enforce.criticalIncidents).toBe(1);
    expect(report.modes.enforce.actions).toBe(2);
    expect(report.modes.enforce.falseActions).toBe(1);
    expect(report.modes.enforce.mutatingRequestsInObserve).toBe(1);
    expect(report.modes.enforce.invocationsPerIncident).toBe(140);
    // Idle cost comes from the benign runs only (one simulated hour here).
    expect(report.modes.enforce.idleInvocationsPerHour).toBe(90);
    expect(report.modes.enforce.idleCpuMsPerHour).toBe(1200);
    expect(report.modes.none.idleCpuMsPerHour).toBeNull();
    expect(report.modes.observe.idleInvocationsPerHour).toBeNull();
    expect(report.summary.mttrReduction).toBe(93.9);
    expect(reportLine(report)).toBe(
      'report: mttr_reduction=93.9 incident_reduction=66.7 utilisation_gain=0.0 false_actions=1',
    );
  });
});
