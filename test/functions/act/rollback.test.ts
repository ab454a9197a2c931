import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { perform } from '../../../functions/act/actions.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { scenario } from '../../support/pipeline.js';
import { startWithKurative } from '../../support/sandbox.js';

// statefulset-rollout, with two images that never pull: pods of them are never Ready.
const base = scenario('statefulset-rollout');
const withBadImages = {
  ...base,
  images: { ...base.images, 'shop/sessions:7.3': { pullFails: true }, 'shop/agent:2': { pullFails: true } },
  workloads: [
    ...base.workloads,
    {
      ...base.workloads[0]!,
      name: 'agent',
      kind: 'DaemonSet' as const,
      image: 'shop/agent:1',
      pdb: undefined,
    },
  ],
};

let sandbox: Sandbox;
let kube: KubeClients;
beforeEach(async () => {
  ({ sandbox, kube } = await startWithKurative(withBadImages, 12)); // every pod running and ready
});
afterEach(async () => sandbox.close());

const ctx = (dryRun = false) => ({ kube, dryRun, incidentId: 'inc-test' });
const sessions = { apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: 'shop', name: 'sessions' };
const agent = { apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'shop', name: 'agent' };
const STRATEGIC = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const imageBody = (image: string) => ({
  spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
});
const podsOf = async (app: string) =>
  (await kube.core.listNamespacedPod({ namespace: 'shop', labelSelector: `app=${app}` })).items
    .map((p) => ({
      name: p.metadata?.name ?? '',
      image: p.spec?.containers[0]?.image,
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
const steps = (n: number) => {
  for (let i = 0; i < n; i++) sandbox.step();
};

describe('rolling back a StatefulSet or a DaemonSet', () => {
  it('rolls a StatefulSet back and deletes its pod of the bad revision, which would block it for good', async () => {
    await kube.apps.patchNamespacedStatefulSet(
      { namespace: 'shop', name: 'sessions', body: imageBody('shop/sessions:7.3') },
      STRATEGIC,
    );
    steps(12);
    // sessions-2 went first and never became Ready: the update stops there.
    expect((await podsOf('sessions')).map((p) => [p.image, p.ready])).toEqual([
      ['shop/sessions:7.0', true],
      ['shop/sessions:7.0', true],
      ['shop/sessions:7.3', false],
    ]);
    const r = await perform(ctx(), { type: 'rollbackDeployment', target: sessions, params: {}, reason: '' });
    expect(r.status).toBe('succeeded');
    expect(r.message).toBe('rolled StatefulSet/shop/sessions back from revision 2 to 1');
    expect(r.changes).toEqual([
      'rolled StatefulSet/shop/sessions back from revision 2 to 1',
      'deleted Pod shop/sessions-2: not Ready at a revision rolled back from',
    ]);
    const sts = await kube.apps.readNamespacedStatefulSet({ namespace: 'shop', name: 'sessions' });
    expect(sts.spec?.template.spec?.containers[0]?.image).toBe('shop/sessions:7.0');
    steps(6);
    expect((await podsOf('sessions')).map((p) => [p.image, p.ready])).toEqual([
      ['shop/sessions:7.0', true],
      ['shop/sessions:7.0', true],
      ['shop/sessions:7.0', true],
    ]);
    const after = await kube.apps.readNamespacedStatefulSet({ namespace: 'shop', name: 'sessions' });
    expect(after.status?.updateRevision).toBe(after.status?.currentRevision);
    expect(after.status?.readyReplicas).toBe(3);
  });

  it('without the pod deletion the reverted StatefulSet stays stuck (what a template-only rollback gets)', async () => {
    await kube.apps.patchNamespacedStatefulSet(
      { namespace: 'shop', name: 'sessions', body: imageBody('shop/sessions:7.3') },
      STRATEGIC,
    );
    steps(12);
    await kube.apps.patchNamespacedStatefulSet(
      { namespace: 'shop', name: 'sessions', body: imageBody('shop/sessions:7.0') },
      STRATEGIC,
    );
    steps(18);
    expect((await podsOf('sessions'))[2]).toMatchObject({ image: 'shop/sessions:7.3', ready: false });
  });

  it('rolls a DaemonSet back; the controller replaces the pod that never became Ready', async () => {
    await kube.apps.patchNamespacedDaemonSet(
      { namespace: 'shop', name: 'agent', body: imageBody('shop/agent:2') },
      STRATEGIC,
    );
    steps(12);
    expect((await podsOf('agent')).filter((p) => p.image === 'shop/agent:2' && !p.ready)).toHaveLength(1);
    const r = await perform(ctx(), { type: 'rollbackDeployment', target: agent, params: {}, reason: '' });
    expect(r.status).toBe('succeeded');
    expect(r.changes).toEqual(['rolled DaemonSet/shop/agent back from revision 2 to 1']);
    steps(6);
    expect((await podsOf('agent')).map((p) => [p.image, p.ready])).toEqual([
      ['shop/agent:1', true],
      ['shop/agent:1', true],
      ['shop/agent:1', true],
    ]);
  });

  it('changes nothing in a dry run, and fails without a revision to go back to', async () => {
    await kube.apps.patchNamespacedStatefulSet(
      { namespace: 'shop', name: 'sessions', body: imageBody('shop/sessions:7.3') },
      STRATEGIC,
    );
    steps(12);
    const before = sandbox.api.apiServer.audit.length;
    const dry = await perform(ctx(true), {
      type: 'rollbackDeployment',
      target: sessions,
      params: {},
      reason: '',
    });
    expect(dry.status).toBe('succeeded');
    const mutations = sandbox.api.apiServer.audit.slice(before);
    expect(mutations.map((a) => a.resource).sort()).toEqual(['pods', 'statefulsets']);
    expect(mutations.every((a) => a.dryRun)).toBe(true);
    expect((await podsOf('sessions'))[2]).toMatchObject({ image: 'shop/sessions:7.3' });
    const none = await perform(ctx(), { type: 'rollbackDeployment', target: agent, params: {}, reason: '' });
    expect(none).toMatchObject({ status: 'failed', message: 'no revision before 1 to roll back to' });
  });
});
