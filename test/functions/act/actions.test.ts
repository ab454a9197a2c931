import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { definition as act } from '../../../functions/act/index.js';
import { perform } from '../../../functions/act/actions.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import {
  EVENT_TYPES,
  type ActionSpec,
  type DecisionData,
  type RemediationData,
} from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { MemoryStore } from '../../../shared/store/index.js';
import type { InboundEvent } from '../../../shared/runtime/index.js';
import { createIncident, INCIDENTS } from '../../support/incidents.js';
import { silentLog, testConfig } from '../../support/runtime.js';
import { startWithKurative } from '../../support/sandbox.js';

const MI = 2 ** 20;
let sandbox: Sandbox;
let kube: KubeClients;

beforeEach(async () => {
  ({ sandbox, kube } = await startWithKurative('memory-leak', 12)); // every pod running and ready
});
afterEach(async () => sandbox.close());

const cart = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'cart' };
const ctx = (dryRun = false) => ({ kube, dryRun, incidentId: 'inc-test' });
const mutations = () =>
  sandbox.api.apiServer.audit.filter((a) => a.resource !== 'events' && a.resource !== 'incidents');
const cartPods = async () =>
  (await kube.core.listNamespacedPod({ namespace: 'shop', labelSelector: 'app=cart' })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
const memoryLimit = async () =>
  (await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' })).spec?.template.spec
    ?.containers[0]?.resources?.limits?.['memory'];

function decisionEvent(
  action: ActionSpec,
  extra: Partial<DecisionData> = {},
): InboundEvent<typeof EVENT_TYPES.decision> {
  const data: DecisionData = {
    incidentId: 'inc-test',
    decisionId: 'inc-test-d1',
    decidedAt: new Date(sandbox.simulator.clock.epochMs).toISOString(),
    mode: 'enforce',
    verdict: 'approved',
    action,
    rule: { policy: 'p', name: 'allow', reason: 'test' },
    dryRun: false,
    step: 0,
    verifyAfterSeconds: 120,
    ...extra,
  };
  return {
    id: `e-${data.decisionId}`,
    type: EVENT_TYPES.decision,
    source: 'test',
    subject: undefined,
    time: data.decidedAt,
    incidentId: data.incidentId,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data,
    extensions: { verdict: data.verdict },
  };
}

describe('act against the sandbox', () => {
  it('restarts pods through the eviction API and stops at the PodDisruptionBudget', async () => {
    const before = (await cartPods()).map((p) => p.metadata?.name);
    // cart has 3 replicas and a PDB with minAvailable 2: one eviction passes, the second is refused.
    const r = await perform(ctx(), { type: 'restartPod', target: cart, params: { maxPods: 3 }, reason: '' });
    expect(r.status).toBe('succeeded');
    expect(r.changes).toHaveLength(1);
    expect(r.message).toMatch(/PodDisruptionBudget/);
    const again = await perform(ctx(), {
      type: 'restartPod',
      target: cart,
      params: { maxPods: 1 },
      reason: '',
    });
    expect(again.status).toBe('failed');
    expect(again.message).toMatch(/PodDisruptionBudget/);
    for (let i = 0; i < 6; i++) sandbox.step();
    const after = (await cartPods()).map((p) => p.metadata?.name);
    expect(after).toHaveLength(3);
    expect(after.filter((n) => !before.includes(n))).toHaveLength(1);
  });

  it('raises a memory limit on the owning workload, retrying a 409 conflict', async () => {
    // A concurrent writer changes the Deployment between act's read and its patch, once.
    let raced = false;
    const apps = new Proxy(kube.apps, {
      get(target, prop, receiver) {
        if (prop !== 'patchNamespacedDeployment') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<k8s.AppsV1Api['patchNamespacedDeployment']>) => {
          if (!raced) {
            raced = true;
            await target.patchNamespacedDeployment(
              { namespace: 'shop', name: 'cart', body: { metadata: { labels: { touched: 'yes' } } } },
              k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
            );
          }
          return target.patchNamespacedDeployment(...args);
        };
      },
    });
    const racing = { ...kube, apps };
    const action: ActionSpec = {
      type: 'adjustResources',
      target: cart,
      params: { resource: 'memory', 'app.limits.memory': 384 * MI, 'app.limits.memory.from': 256 * MI },
      reason: '',
    };
    const r = await perform({ kube: racing, dryRun: false, incidentId: 'inc-test' }, action);
    expect(raced).toBe(true);
    expect(r.status).toBe('succeeded');
    expect(await memoryLimit()).toBe('384Mi');
    // The new revision names the incident it was made for (rca reads it as kurative's own change).
    const template = (await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' })).spec
      ?.template;
    expect(template?.metadata?.annotations?.['kurative.dev/remediated-for']).toBe('inc-test');
    const patches = sandbox.api.apiServer.audit.filter(
      (a) => a.resource === 'deployments' && a.verb === 'patch',
    );
    expect(patches.map((p) => p.code)).toContain(409);
    // Applied already: a second run changes nothing.
    expect((await perform(ctx(), action)).status).toBe('skipped');
  });

  it('does not apply a resize decided on a limit that has changed since', async () => {
    const r = await perform(ctx(), {
      type: 'adjustResources',
      target: cart,
      params: { resource: 'memory', 'app.limits.memory': 2048 * MI, 'app.limits.memory.from': 1024 * MI },
      reason: '',
    });
    expect(r.status).toBe('failed');
    expect(await memoryLimit()).toBe('256Mi');
  });

  it('leaves nothing changed in a dry run', async () => {
    const pods = (await cartPods()).length;
    const resize = await perform(ctx(true), {
      type: 'adjustResources',
      target: cart,
      params: { resource: 'memory', 'app.limits.memory': 384 * MI, 'app.limits.memory.from': 256 * MI },
      reason: '',
    });
    const evict = await perform(ctx(true), {
      type: 'restartPod',
      target: cart,
      params: { maxPods: 1 },
      reason: '',
    });
    const scale = await perform(ctx(true), {
      type: 'scaleWorkload',
      target: cart,
      params: { replicas: 4, from: 3 },
      reason: '',
    });
    const cordon = await perform(ctx(true), {
      type: 'cordonNode',
      target: { kind: 'Node', name: 'node-1' },
      params: {},
      reason: '',
    });
    for (const r of [resize, evict, scale, cordon]) expect(r.status).toBe('succeeded');
    sandbox.step();
    expect(await memoryLimit()).toBe('256Mi');
    expect((await cartPods()).length).toBe(pods);
    expect(
      (await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' })).spec?.replicas,
    ).toBe(3);
    expect((await kube.core.readNode({ name: 'node-1' })).spec?.unschedulable).toBeFalsy();
    expect(mutations().every((a) => a.dryRun)).toBe(true);
  });

  it('rolls a Deployment back to its previous template as kubectl rollout undo does', async () => {
    await kube.apps.patchNamespacedDeployment(
      {
        namespace: 'shop',
        name: 'cart',
        body: {
          spec: { template: { spec: { containers: [{ name: 'app', image: 'shop/cart:4.2-broken' }] } } },
        },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    for (let i = 0; i < 3; i++) sandbox.step();
    const r = await perform(ctx(), { type: 'rollbackDeployment', target: cart, params: {}, reason: '' });
    expect(r.status).toBe('succeeded');
    expect(r.message).toMatch(/revision 2 to 1/);
    const d = await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' });
    expect(d.spec?.template.spec?.containers[0]?.image).toBe('shop/cart:4.1');
    expect(d.spec?.template.metadata?.labels?.['pod-template-hash']).toBeUndefined();
    // The controller recognises the restored template: the first ReplicaSet comes back as revision 3
    // (no third ReplicaSet), and the rollout completes.
    for (let i = 0; i < 12; i++) sandbox.step();
    const sets = (await kube.apps.listNamespacedReplicaSet({ namespace: 'shop', labelSelector: 'app=cart' }))
      .items;
    expect(sets).toHaveLength(2);
    const revisions = sets.map((rs) => [
      rs.spec?.template?.spec?.containers[0]?.image,
      rs.metadata?.annotations?.['deployment.kubernetes.io/revision'],
    ]);
    expect(revisions).toContainEqual(['shop/cart:4.1', '3']);
    const after = await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' });
    expect(after.status?.updatedReplicas).toBe(3);
    expect(after.status?.readyReplicas).toBe(3);
  });

  it('scales only from the replica count it decided on', async () => {
    expect(
      (
        await perform(ctx(), {
          type: 'scaleWorkload',
          target: cart,
          params: { replicas: 5, from: 2 },
          reason: '',
        })
      ).status,
    ).toBe('failed');
    expect(
      (
        await perform(ctx(), {
          type: 'scaleWorkload',
          target: cart,
          params: { replicas: 4, from: 3 },
          reason: '',
        })
      ).status,
    ).toBe('succeeded');
    expect(
      (await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' })).spec?.replicas,
    ).toBe(4);
  });

  it('moves pods off a node: cordon, then evictions', async () => {
    const onNode = (await kube.core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' })).items;
    const r = await perform(ctx(), {
      type: 'moveOffNode',
      target: { kind: 'Node', name: 'node-1' },
      params: {},
      reason: '',
    });
    expect((await kube.core.readNode({ name: 'node-1' })).spec?.unschedulable).toBe(true);
    expect(r.changes[0]).toBe('cordoned Node node-1');
    expect(r.changes.filter((c) => c.startsWith('evicted')).length).toBeGreaterThan(0);
    expect(r.changes.filter((c) => c.startsWith('evicted')).length).toBeLessThanOrEqual(onNode.length);
    expect(r.verify.length).toBeGreaterThan(0);
  });

  it('quarantines pods behind a deny-all NetworkPolicy', async () => {
    const r = await perform(ctx(), { type: 'quarantinePod', target: cart, params: {}, reason: '' });
    expect(r.status).toBe('succeeded');
    const np = await kube.networking.readNamespacedNetworkPolicy({
      namespace: 'shop',
      name: 'kurative-quarantine-inc-test',
    });
    expect(np.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec?.ingress ?? []).toEqual([]);
    const labelled = (await cartPods()).filter(
      (p) => p.metadata?.labels?.['kurative.dev/quarantined'] === 'inc-test',
    );
    expect(labelled).toHaveLength(3);
  });

  it('performs a duplicated or redelivered decision exactly once, records it and verifies it later', async () => {
    await createIncident(kube, 'inc-test', {
      phase: 'Diagnosed',
      startedAt: new Date(sandbox.simulator.clock.epochMs - 600_000).toISOString(),
      lastSeenAt: new Date(sandbox.simulator.clock.epochMs).toISOString(),
      anomalies: 1,
    });
    const deps = { store: new MemoryStore(), kube };
    const run = (
      e = decisionEvent({ type: 'restartPod', target: cart, params: { maxPods: 1 }, reason: 'test' }),
    ) => act.handle(e, { deps, log: silentLog, config: testConfig() });
    const results = await Promise.all([run(), run(), run()]);
    await run();
    const evictions = sandbox.api.apiServer.audit.filter((a) => a.subresource === 'eviction');
    expect(evictions).toHaveLength(1);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    const reported = results.find((r) => r !== undefined) as unknown as { data: RemediationData };
    expect(reported.data.status).toBe('succeeded');
    const events = (await kube.core.listNamespacedEvent({ namespace: 'shop' })).items.filter(
      (e) => e.reason === 'KurativeRestart',
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.involvedObject.name).toBe('cart');
    // Not due yet: nothing to verify. After the window, the pods are healthy again: resolved.
    const ping = (at: number) =>
      act.handle(
        {
          ...decisionEvent(reported.data.action),
          type: EVENT_TYPES.tick,
          data: { at: new Date(at).toISOString(), openIncidents: 1 },
          time: new Date(at).toISOString(),
        },
        { deps, log: silentLog, config: testConfig() },
      );
    expect(await ping(sandbox.simulator.clock.epochMs + 60_000)).toBeUndefined();
    for (let i = 0; i < 13; i++) sandbox.step();
    const verified = (await ping(sandbox.simulator.clock.epochMs)) as unknown as { data: RemediationData }[];
    expect(verified.map((v) => v.data.status)).toEqual(['verified']);
    const inc = (await kube.custom.getClusterCustomObject({
      group: 'kurative.dev',
      version: 'v1alpha1',
      plural: 'incidents',
      name: 'inc-test',
    })) as { status: { phase: string; timeToRecoverSeconds: number; history: string[] } };
    expect(inc.status.phase).toBe('Resolved');
    expect(inc.status.timeToRecoverSeconds).toBeGreaterThan(600);
    expect(inc.status.history.some((h) => h.includes('action inc-test-d1 succeeded'))).toBe(true);
  });

  it('performs each of two decisions once, whatever the order and repetition of their delivery', async () => {
    const deps = { store: new MemoryStore(), kube };
    const first = decisionEvent({
      type: 'scaleWorkload',
      target: cart,
      params: { replicas: 4, from: 3 },
      reason: '',
    });
    const second = decisionEvent(
      { type: 'restartPod', target: cart, params: { maxPods: 1 }, reason: '' },
      { decisionId: 'inc-test-d2' },
    );
    const run = (e: typeof first) => act.handle(e, { deps, log: silentLog, config: testConfig() });
    for (const e of [second, first, second, first, first]) await run(e);
    const audit = sandbox.api.apiServer.audit;
    expect(audit.filter((a) => a.subresource === 'eviction')).toHaveLength(1);
    expect(audit.filter((a) => a.subresource === 'scale' && a.verb === 'patch')).toHaveLength(1);
    expect(
      (await kube.apps.readNamespacedDeployment({ namespace: 'shop', name: 'cart' })).spec?.replicas,
    ).toBe(4);
  });

  it('resolves an observed incident once its symptoms stopped, and leaves one awaiting a human', async () => {
    const now = sandbox.simulator.clock.epochMs;
    for (const [name, phase] of [
      ['inc-quiet', 'Diagnosed'],
      ['inc-waiting', 'AwaitingApproval'],
    ] as const) {
      await createIncident(kube, name, {
        phase,
        startedAt: new Date(now - 50 * 60_000).toISOString(),
        lastSeenAt: new Date(now - 40 * 60_000).toISOString(),
        anomalies: 2,
      });
    }
    const deps = { store: new MemoryStore(), kube };
    await act.handle(
      {
        ...decisionEvent({ type: 'notify', target: cart, params: {}, reason: '' }),
        type: EVENT_TYPES.tick,
        data: { at: new Date(now).toISOString(), openIncidents: 3 },
        time: new Date(now).toISOString(),
      },
      { deps, log: silentLog, config: testConfig() },
    );
    const get = async (name: string) =>
      (
        (await kube.custom.getClusterCustomObject({ ...INCIDENTS, name })) as {
          status: { phase: string; timeToRecoverSeconds?: number };
        }
      ).status;
    expect(await get('inc-quiet')).toMatchObject({ phase: 'Resolved', timeToRecoverSeconds: 600 });
    expect((await get('inc-waiting')).phase).toBe('AwaitingApproval');
    expect(mutations()).toHaveLength(0);
  });

  it('refuses a decision that is not approved with a 4xx, acting on nothing', async () => {
    const deps = { store: new MemoryStore(), kube };
    const denied = decisionEvent(
      { type: 'restartPod', target: cart, params: {}, reason: '' },
      { verdict: 'denied' },
    );
    await expect(act.handle(denied, { deps, log: silentLog, config: testConfig() })).rejects.toMatchObject({
      status: 400,
    });
    expect(mutations()).toHaveLength(0);
  });
});
