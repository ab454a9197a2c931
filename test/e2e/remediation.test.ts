import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { examplePolicy } from '../../cli/pipeline.js';
import { buildReport, clusterChanges, type ScenarioRun } from '../../cli/report.js';
import { runScenario } from '../../cli/run-scenario.js';
import { RemediationPolicySpec } from '../../shared/contracts/index.js';
import { scenario } from '../support/pipeline.js';
import { loadScenarios, type Scenario } from '../../sandbox/simulator/scenario.js';

// The npm start mix, the benign scenarios and a node failure.
const MIX = ['memory-leak', 'bad-rollout', 'traffic-spike', 'pod-delete', 'normal-rollout', 'node-failure'];

/** The report of these runs, every mode judged against the example policy in enforce mode. */
function exampleReport(runs: ScenarioRun[]): ReturnType<typeof buildReport> {
  const spec = RemediationPolicySpec.parse(examplePolicy('enforce').spec);
  return buildReport(runs, { none: spec, observe: spec, enforce: spec });
}

/** The Incident board (one line per Incident) of each scenario's last enforce run here. */
const boards = new Map<string, string[]>();

/** The scenario (by name, or one built here) without kurative and in enforce mode, in that order. */
async function noneThenEnforce(which: string | Scenario): Promise<[ScenarioRun, ScenarioRun]> {
  const s = typeof which === 'string' ? scenario(which) : which;
  const dir = mkdtempSync(join(tmpdir(), `kurative-${s.name}-`));
  const none = (await runScenario(s, { mode: 'none', dir, inProcess: true })).run;
  const enforce = await runScenario(s, { mode: 'enforce', dir, inProcess: true });
  boards.set(s.name, enforce.summary.incidents);
  return [none, enforce.run];
}

describe('self-correction end to end: enforce mode against no kurative on the same seeded scenarios', () => {
  it('recovers much faster (MTTR ≥ 80 % lower on this mix), never acts on benign scenarios, never beyond policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kurative-remediation-'));
    const runs: ScenarioRun[] = [];
    for (const name of MIX)
      for (const mode of ['none', 'enforce'] as const)
        runs.push((await runScenario(scenario(name), { mode, dir, inProcess: true })).run);
    const report = exampleReport(runs);
    const { none, enforce } = report.modes;
    const line = (mode: string) =>
      report.perScenario
        .filter((p) => p.mode === mode)
        .map((p) => `${p.scenario}: ${p.actions.join(', ') || '-'}`);
    expect(enforce.falseActions, line('enforce').join('\n')).toBe(0);
    expect(enforce.actionsBeyondPolicy).toBe(0);
    expect(enforce.actions).toBeGreaterThanOrEqual(3);
    for (const p of report.perScenario.filter((x) => x.benign)) expect(p.actions).toEqual([]);
    expect(none.mttrSeconds).not.toBeNull();
    expect(report.summary.mttrReduction).toBeGreaterThanOrEqual(80);
    // Per scenario: never slower to recover than without kurative; the leak never reaches an OOM kill.
    const recovery = (name: string, mode: string) =>
      report.perScenario.find((p) => p.scenario === name && p.mode === mode)?.recoverySeconds ?? 0;
    expect(recovery('bad-rollout', 'enforce')).toBeLessThan(recovery('bad-rollout', 'none') / 10);
    expect(recovery('node-failure', 'enforce')).toBeLessThan(recovery('node-failure', 'none'));
    expect(
      runs.find((r) => r.scenario.name === 'memory-leak' && r.mode === 'enforce')?.outcome.oomKills,
    ).toBe(0);
    expect(enforce.criticalIncidents).toBeLessThan(none.criticalIncidents);
    expect(none.actions).toBe(0);
  }, 600_000);

  it('volume-fill: the claim is expanded within bounds before its volume is full, so nothing crashes', async () => {
    const runs = await noneThenEnforce('volume-fill');
    const [none, enforce] = runs;
    expect(none.outcome.crashes).toBeGreaterThan(0);
    expect(enforce.outcome.crashes).toBe(0);
    expect(enforce.outcome.impairedSeconds).toBe(0);
    const expansions = enforce.remediations.filter((r) => r.action.type === 'expandVolume');
    expect(expansions[0]).toMatchObject({
      status: 'succeeded',
      action: {
        target: { kind: 'PersistentVolumeClaim', name: 'data-orders-db-0' },
        params: { storage: 3 * 2 ** 30, from: 2 * 2 ** 30 },
      },
    });
    const report = exampleReport(runs);
    expect(report.modes.enforce.falseActions).toBe(0);
    expect(report.modes.enforce.actionsBeyondPolicy).toBe(0);
    // Only the claim was changed (and kurative's own records).
    expect([...new Set(clusterChanges(enforce.audit).map((a) => a.resource))]).toEqual([
      'persistentvolumeclaims',
    ]);
  }, 300_000);

  it('a Deployment scaled to zero by hand: its service fails, and kurative scales it back to the replicas it had', async () => {
    // The bad-rollout cluster, where someone scales payment (2 replicas) to 0 at minute 20 instead.
    const dir = mkdtempSync(join(tmpdir(), 'kurative-scaled-'));
    const yaml = readFileSync(join('sandbox', 'scenarios', 'bad-rollout.yaml'), 'utf8')
      .replace(/^name: .*$/m, 'name: scaled-to-zero')
      .replace(
        /^faults:[\s\S]*$/m,
        [
          'faults:',
          '  - at: 20m',
          '    type: patch',
          '    target: { apiVersion: apps/v1, kind: Deployment, namespace: shop, name: payment }',
          '    patch: { spec: { replicas: 0 } }',
          'truth:',
          '  rootCause: { kind: Deployment, namespace: shop, name: payment }',
          '  faultClass: config-change',
          '  actions: [scaleWorkload]',
          '  actionWanted: true',
          '  failureAt: 20m',
          '',
        ].join('\n'),
      );
    writeFileSync(join(dir, 'scaled-to-zero.yaml'), yaml);
    const [s] = loadScenarios(dir);
    const runs = await noneThenEnforce(s as Scenario);
    const [none, enforce] = runs;
    expect(none.outcome.impairedSeconds).toBeGreaterThan(600);
    const scaled = enforce.remediations.filter((r) => r.action.type === 'scaleWorkload');
    expect(scaled[0]).toMatchObject({
      status: 'succeeded',
      action: { target: { kind: 'Deployment', name: 'payment' }, params: { from: 0, replicas: 2 } },
    });
    expect(enforce.remediations.some((r) => r.status === 'verified')).toBe(true);
    expect(enforce.outcome.impairedSeconds).toBeLessThan(none.outcome.impairedSeconds / 4);
    const report = exampleReport(runs);
    expect(report.modes.enforce.falseActions).toBe(0);
    expect(report.modes.enforce.actionsBeyondPolicy).toBe(0);
  }, 300_000);

  it('statefulset-rollout: the StatefulSet is rolled back and its crash-looping pods replaced, within policy', async () => {
    const runs = await noneThenEnforce('statefulset-rollout');
    const [none, enforce] = runs;
    expect(none.outcome.impairedSeconds).toBeGreaterThan(3000);
    const rollbacks = enforce.remediations.filter((r) => r.action.type === 'rollbackDeployment');
    expect(rollbacks[0]).toMatchObject({
      status: 'succeeded',
      action: { target: { kind: 'StatefulSet', name: 'sessions' } },
    });
    // The template alone would leave the StatefulSet waiting on its crashing pods: they are deleted.
    expect(rollbacks[0]?.changes.some((c) => c.startsWith('deleted Pod shop/sessions-'))).toBe(true);
    expect(enforce.remediations.some((r) => r.status === 'verified')).toBe(true);
    expect(enforce.outcome.impairedSeconds).toBeLessThan(none.outcome.impairedSeconds / 10);
    const report = exampleReport(runs);
    expect(report.modes.enforce.falseActions).toBe(0);
    expect(report.modes.enforce.actionsBeyondPolicy).toBe(0);
  }, 300_000);

  it('configmap-deleted: the deleted ConfigMap is the root; the stalled restart is rolled back, within policy', async () => {
    const runs = await noneThenEnforce('configmap-deleted');
    const [none, enforce] = runs;
    expect(none.outcome.stalledRolloutSeconds).toBeGreaterThan(1800);
    expect(boards.get('configmap-deleted')).toEqual([
      expect.stringMatching(/ root=ConfigMap\/shop\/payment-config class=config-change /),
    ]);
    expect(enforce.remediations.find((r) => r.status === 'succeeded')?.action).toMatchObject({
      type: 'rollbackDeployment',
      target: { kind: 'Deployment', name: 'payment' },
    });
    expect(enforce.outcome.stalledRolloutSeconds).toBeLessThan(none.outcome.stalledRolloutSeconds / 10);
    const report = exampleReport(runs);
    expect(report.modes.enforce.falseActions).toBe(0);
    expect(report.modes.enforce.actionsBeyondPolicy).toBe(0);
  }, 300_000);

  it('node-cpu-saturation: the climbing worker is capped well before the node saturates, within policy', async () => {
    const runs = await noneThenEnforce('node-cpu-saturation');
    const [none, enforce] = runs;
    expect(none.outcome.impairedSeconds).toBeGreaterThan(600);
    const caps = enforce.remediations.filter((r) => r.action.type === 'adjustResources');
    expect(caps[0]).toMatchObject({
      status: 'succeeded',
      action: { target: { kind: 'Deployment', name: 'ledger-reconcile' }, params: { resource: 'cpu' } },
    });
    // Capped at least 10 simulated minutes before the harm would have started.
    expect(Date.parse(none.outcome.firstImpairedAt ?? '') - Date.parse(caps[0]?.at ?? '')).toBeGreaterThan(
      10 * 60_000,
    );
    // What remains is the worker's replacement starting (one replica, not ready for a few ticks).
    expect(enforce.outcome.impairedSeconds).toBeLessThan(none.outcome.impairedSeconds / 10);
    expect(enforce.outcome.criticalIncidents).toBe(0);
    const report = exampleReport(runs);
    expect(report.modes.enforce.falseActions).toBe(0);
    expect(report.modes.enforce.actionsBeyondPolicy).toBe(0);
  }, 300_000);

  it('noisy-neighbour: the services beside the hog err, and the hog starving their node is found and capped at once', async () => {
    const runs = await noneThenEnforce('noisy-neighbour');
    const [none, enforce] = runs;
    // The neighbours are hurt, not the hog (a batch job without traffic).
    const hurt = Object.entries(none.outcome.workloads)
      .filter(([, w]) => w.errorSeconds > 0)
      .map(([k]) => k);
    expect(hurt).toContain('shop/frontend');
    expect(hurt).not.toContain('shop/report-builder');
    // The first diagnosis sees only the services' errors, but also the node the hog saturates:
    // the first action caps it (before, it notified about the services first).
    expect(enforce.remediations[0]?.action.type).toBe('adjustResources');
    const cap = enforce.remediations.find((r) => r.action.type === 'adjustResources');
    expect(cap).toMatchObject({ status: 'succeeded', action: { target: { name: 'report-builder' } } });
    expect(enforce.outcome.lastImpairedEndAt).toBeDefined();
    expect(enforce.outcome.impairedSeconds).toBeLessThan(none.outcome.impairedSeconds / 4);
    expect(exampleReport(runs).modes.enforce.falseActions).toBe(0);
  }, 300_000);

  it('dryRun: every action is a server-side dry run and the cluster fares as without kurative', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kurative-dryrun-'));
    const { run } = await runScenario(scenario('bad-rollout'), { mode: 'dryRun', dir, inProcess: true });
    const { run: none } = await runScenario(scenario('bad-rollout'), { mode: 'none', dir, inProcess: true });
    expect(run.remediations.map((r) => `${r.action.type} ${r.status}`)).toEqual([
      'rollbackDeployment dryRun',
    ]);
    const changes = clusterChanges(run.audit);
    expect(changes.length).toBeGreaterThan(0);
    expect(changes.every((a) => a.dryRun)).toBe(true);
    expect(run.outcome.errorSeconds).toBe(none.outcome.errorSeconds);
  }, 300_000);
});
