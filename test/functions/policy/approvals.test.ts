import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definition as policy, type PolicyDeps } from '../../../functions/policy/index.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import { EVENT_TYPES, type DecisionData, type DiagnosisData } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { MemoryStore } from '../../../shared/store/index.js';
import type { InboundEvent } from '../../../shared/runtime/index.js';
import { kubectl, kubectlAvailable } from '../../support/kubectl.js';
import { createIncident, INCIDENTS } from '../../support/incidents.js';
import { silentLog, testConfig } from '../../support/runtime.js';
import { startWithKurative } from '../../support/sandbox.js';

const POLICY = `apiVersion: kurative.dev/v1alpha1
kind: RemediationPolicy
metadata:
  name: careful
spec:
  mode: enforce
  actions:
    restartPod: { allowed: true, requireApproval: true }
  approvals: { expireAfter: 30m }
`;

describe.runIf(kubectlAvailable)('approvals through the real kubectl annotate', () => {
  let sandbox: Sandbox;
  let kube: KubeClients;
  let now: number;

  beforeAll(async () => {
    ({ sandbox, kube } = await startWithKurative('memory-leak', 12));
    now = sandbox.simulator.clock.epochMs;
    const applied = await kubectl(sandbox.kubeconfigPath, ['apply', '-f', '-'], POLICY);
    expect(applied.stderr).toBe('');
  });
  afterAll(async () => sandbox.close());

  /** Policy's dependencies for one test: its own store, the sandbox's API server. */
  const policyDeps = (extra: Partial<PolicyDeps> = {}): PolicyDeps => ({
    store: new MemoryStore(),
    kube,
    ownNamespace: 'kurative',
    defaultMode: 'observe',
    ...extra,
  });

  const handle = (deps: PolicyDeps, event: InboundEvent) =>
    policy.handle(event as never, { deps, log: silentLog, config: testConfig() }) as Promise<
      { data: DecisionData; extensions?: Record<string, string> } | undefined
    >;

  async function incident(name: string): Promise<void> {
    const at = new Date(now).toISOString();
    await createIncident(kube, name, { phase: 'Diagnosed', startedAt: at, lastSeenAt: at, anomalies: 1 });
  }

  function diagnosis(id: string, workload: string): InboundEvent {
    const target = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: workload };
    const data: DiagnosisData = {
      incidentId: id,
      diagnosedAt: new Date(now).toISOString(),
      severity: 'warning',
      candidates: [{ object: target, faultClass: 'pod-memory-hog', confidence: 0.9, score: 1 }],
      causalPath: [],
      evidence: [],
      explanation: 'test',
      recommendedActions: [{ type: 'restartPod', target, params: {}, reason: 'restart the leaking pods' }],
      anomalyIds: ['a1'],
    };
    return {
      id: `diag-${id}`,
      type: EVENT_TYPES.diagnosis,
      source: 'test',
      subject: undefined,
      time: data.diagnosedAt,
      incidentId: id,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data,
      extensions: {},
    };
  }

  /** What the ApiServerSource delivers after the annotation: the whole Incident. */
  async function update(name: string, at: number): Promise<InboundEvent> {
    const object = (await kube.custom.getClusterCustomObject({ ...INCIDENTS, name })) as Record<
      string,
      unknown
    >;
    return {
      id: `upd-${name}-${at}`,
      type: EVENT_TYPES.apiServerUpdate,
      source: sandbox.url,
      subject: undefined,
      time: new Date(at).toISOString(),
      incidentId: undefined,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: object,
      extensions: { kind: 'Incident' },
    };
  }

  const status = async (name: string) =>
    (await kube.custom.getClusterCustomObject({ ...INCIDENTS, name })) as {
      metadata: { annotations?: Record<string, string> };
      status: { phase: string; history: string[]; conditions: { type: string; reason: string }[] };
    };

  it('waits on the Incident, then acts on kubectl annotate … kurative.dev/approve=<action>', async () => {
    const deps = policyDeps();
    await incident('inc-approve');
    const pending = await handle(deps, diagnosis('inc-approve', 'cart'));
    expect(pending?.data.verdict).toBe('pendingApproval');
    expect(pending?.extensions?.['verdict']).toBe('pendingApproval');
    expect((await status('inc-approve')).status.phase).toBe('AwaitingApproval');
    // A re-diagnosis does not ask twice.
    expect(await handle(deps, diagnosis('inc-approve', 'cart'))).toBeUndefined();

    const annotate = await kubectl(sandbox.kubeconfigPath, [
      'annotate',
      'incident',
      'inc-approve',
      'kurative.dev/approve=restartPod',
    ]);
    expect(annotate.stdout).toMatch(/annotated/);
    const approved = await handle(deps, await update('inc-approve', now + 5 * 60_000));
    expect(approved?.data).toMatchObject({
      verdict: 'approved',
      decisionId: pending?.data.decisionId,
      rule: { name: 'approved-by-human' },
    });
    expect(approved?.data.action.params['maxPods']).toBe(1);
    const after = await status('inc-approve');
    expect(after.metadata.annotations?.['kurative.dev/approve']).toBeUndefined();
    expect(after.status.phase).toBe('Mitigating');
    expect(after.status.history.join('\n')).toMatch(/approved restartPod Deployment\/shop\/cart/);
    // The consumed annotation cannot approve anything again.
    expect(await handle(deps, await update('inc-approve', now + 6 * 60_000))).toBeUndefined();
    // In time order (a list is in name order, and generated names are random).
    const events = (await kube.core.listNamespacedEvent({ namespace: 'default' })).items
      .filter((e) => e.involvedObject.name === 'inc-approve')
      .sort((a, b) => (a.firstTimestamp?.getTime() ?? 0) - (b.firstTimestamp?.getTime() ?? 0));
    expect(events.map((e) => e.reason)).toEqual(['ApprovalRequired', 'RemediationApproved']);
  });

  /** Delete a test's Incidents, so the others do not count them as open (the circuit breaker). */
  const forget = async (...names: string[]) => {
    for (const name of names) await kube.custom.deleteClusterCustomObject({ ...INCIDENTS, name });
  };

  const tick = (at: number): InboundEvent => ({
    id: `tick-${at}`,
    type: EVENT_TYPES.tick,
    source: 'test',
    subject: undefined,
    time: new Date(at).toISOString(),
    incidentId: undefined,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data: { at: new Date(at).toISOString() },
    extensions: {},
  });

  it('lets a new incident gather its anomalies for the group wait, then decides it on a tick', async () => {
    const deps = policyDeps({ groupWaitMs: 30_000 });
    await incident('inc-wait');
    // Closed before it settled: never decided.
    await createIncident(kube, 'inc-gone', {
      phase: 'Resolved',
      startedAt: new Date(now).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
      anomalies: 1,
    });
    expect(await handle(deps, diagnosis('inc-wait', 'cart'))).toBeUndefined();
    expect(await handle(deps, diagnosis('inc-gone', 'frontend'))).toBeUndefined();
    expect(await handle(deps, tick(now + 20_000))).toBeUndefined();
    const decided = (await policy.handle(tick(now + 60_000) as never, {
      deps,
      log: silentLog,
      config: testConfig(),
    })) as { data: DecisionData }[] | undefined;
    expect(decided?.map((e) => [e.data.incidentId, e.data.verdict])).toEqual([
      ['inc-wait', 'pendingApproval'],
    ]);
    expect(decided?.[0]?.data.decidedAt).toBe(new Date(now + 60_000).toISOString());
    // A standing decision is not taken again on the next tick.
    expect(await handle(deps, tick(now + 120_000))).toBeUndefined();
    await forget('inc-wait', 'inc-gone');
  });

  it("decides a confident rollback of the root's own rollout at once, and any other rollback after the group wait", async () => {
    const deps = policyDeps({ groupWaitMs: 30_000 });
    const rollback = (id: string, root: string, target: string, confidence: number): InboundEvent => {
      const e = diagnosis(id, root);
      const d = e.data as DiagnosisData;
      const ref = (name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name });
      return {
        ...e,
        data: {
          ...d,
          candidates: [{ object: ref(root), faultClass: 'bad-rollout', confidence, score: 1 }],
          recommendedActions: [
            { type: 'rollbackDeployment', target: ref(target), params: {}, reason: 'the rollout broke it' },
          ],
        },
      };
    };
    for (const name of ['inc-rb-root', 'inc-rb-unsure', 'inc-rb-other']) await incident(name);
    const atOnce = await handle(deps, rollback('inc-rb-root', 'cart', 'cart', 0.95));
    expect(atOnce?.data).toMatchObject({ incidentId: 'inc-rb-root', action: { type: 'rollbackDeployment' } });
    expect(await handle(deps, rollback('inc-rb-unsure', 'cart', 'cart', 0.6))).toBeUndefined();
    expect(await handle(deps, rollback('inc-rb-other', 'frontend', 'cart', 0.95))).toBeUndefined();
    await forget('inc-rb-root', 'inc-rb-unsure', 'inc-rb-other');
  });

  it('ignores a diagnosis that arrives after a later one of the same incident', async () => {
    const deps = policyDeps();
    await incident('inc-stale');
    const sequenced = (workload: string, sequence: number): InboundEvent => {
      const e = diagnosis('inc-stale', workload);
      return { ...e, id: `${e.id}-${sequence}`, data: { ...(e.data as DiagnosisData), sequence } };
    };
    expect((await handle(deps, sequenced('cart', 3)))?.data.action.target.name).toBe('cart');
    // Computed from the incident before its third anomaly, delivered late: it changes nothing.
    expect(await handle(deps, sequenced('frontend', 2))).toBeUndefined();
    // A later one with another remedy is followed.
    expect((await handle(deps, sequenced('frontend', 4)))?.data.action.target.name).toBe('frontend');
    await forget('inc-stale');
  });

  it('turns kurative.dev/reject into a denial', async () => {
    const deps = policyDeps();
    await incident('inc-reject');
    expect((await handle(deps, diagnosis('inc-reject', 'frontend')))?.data.verdict).toBe('pendingApproval');
    await kubectl(sandbox.kubeconfigPath, [
      'annotate',
      'incident',
      'inc-reject',
      'kurative.dev/reject=restartPod',
    ]);
    const denied = await handle(deps, await update('inc-reject', now + 60_000));
    expect(denied?.data).toMatchObject({ verdict: 'denied', rule: { name: 'rejected' } });
  });

  it('lets approvals expire', async () => {
    const deps = policyDeps();
    await incident('inc-late');
    expect((await handle(deps, diagnosis('inc-late', 'cart')))?.data.expiresAt).toBe(
      new Date(now + 30 * 60_000).toISOString(),
    );
    await kubectl(sandbox.kubeconfigPath, [
      'annotate',
      'incident',
      'inc-late',
      'kurative.dev/approve=restartPod',
    ]);
    const late = await handle(deps, await update('inc-late', now + 31 * 60_000));
    expect(late?.data).toMatchObject({ verdict: 'denied', rule: { name: 'approval-expired' } });
  });

  it('ignores an approval naming another action', async () => {
    const deps = policyDeps();
    await incident('inc-other');
    await handle(deps, diagnosis('inc-other', 'cart'));
    await kubectl(sandbox.kubeconfigPath, [
      'annotate',
      'incident',
      'inc-other',
      'kurative.dev/approve=drainNode',
    ]);
    expect(await handle(deps, await update('inc-other', now + 60_000))).toBeUndefined();
    expect((await status('inc-other')).status.history.join('\n')).toMatch(
      /does not name the pending restartPod/,
    );
  });

  it('goes down the ladder at once when an action is not allowed, and records both decisions', async () => {
    const deps = policyDeps();
    await incident('inc-ladder');
    const event = diagnosis('inc-ladder', 'cart');
    const d = event.data as DiagnosisData;
    const target = d.recommendedActions[0]!.target;
    d.recommendedActions = [
      { type: 'rollbackDeployment', target, params: {}, reason: 'not allowed by the careful policy' },
      { type: 'notify', target, params: {}, reason: 'tell a human' },
    ];
    const out = (await policy.handle(event as never, {
      deps,
      log: silentLog,
      config: testConfig(),
    })) as unknown as {
      data: DecisionData;
    }[];
    expect(
      out.map((o) => `${o.data.action.type} ${o.data.verdict} ${o.data.rule.name} step ${o.data.step}`),
    ).toEqual(['rollbackDeployment denied action-not-allowed step 0', 'notify approved allow-notify step 1']);
    expect((await status('inc-ladder')).status.history).toHaveLength(2);
  });

  it('reports an invalid policy in its status and treats it as observe; the schema rejects worse', async () => {
    const invalid = POLICY.replace('name: careful', 'name: broken')
      .replace('priority: 0', '')
      .replace(
        'restartPod: { allowed: true, requireApproval: true }',
        'scaleWorkload: { allowed: true, minReplicas: 5, maxReplicas: 2 }',
      )
      .replace('mode: enforce', 'mode: enforce\n  priority: 10');
    expect((await kubectl(sandbox.kubeconfigPath, ['apply', '-f', '-'], invalid)).code).toBe(0);
    const deps = policyDeps();
    await incident('inc-invalid');
    const d = await handle(deps, diagnosis('inc-invalid', 'cart'));
    expect(d?.data).toMatchObject({
      verdict: 'observed',
      rule: { name: 'invalid-policy', policy: 'broken' },
    });
    const got = await kubectl(sandbox.kubeconfigPath, ['get', 'remediationpolicy', 'broken']);
    expect(got.stdout).toMatch(/broken\s+enforce\s+(false\s+)?10\s+False\s+InvalidSpec/);
    const bad = await kubectl(
      sandbox.kubeconfigPath,
      ['apply', '-f', '-'],
      POLICY.replace('mode: enforce', 'mode: yolo'),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/mode/);
  });
});
