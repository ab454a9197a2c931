import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { perform } from '../../../functions/act/actions.js';
import { verify } from '../../../functions/act/verify.js';
import { gatherFacts } from '../../../functions/policy/facts.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import type { ActionSpec } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { startWithKurative } from '../../support/sandbox.js';

const GI = 2 ** 30;
let sandbox: Sandbox;
let kube: KubeClients;

beforeEach(async () => {
  ({ sandbox, kube } = await startWithKurative('volume-fill', 12)); // the database running on its claim
});
afterEach(async () => sandbox.close());

const claim = { kind: 'PersistentVolumeClaim', namespace: 'shop', name: 'data-orders-db-0' };
const ctx = () => ({ kube, dryRun: false, incidentId: 'inc-test' });
const expand = (storage: number, from: number): ActionSpec => ({
  type: 'expandVolume',
  target: claim,
  params: { storage, from },
  reason: '',
});
const readClaim = () =>
  kube.core.readNamespacedPersistentVolumeClaim({ namespace: 'shop', name: claim.name });

describe('volume expansion against the sandbox', () => {
  it('policy reads the claim and whether its StorageClass allows expansion', async () => {
    const [facts] = await gatherFacts(kube, [expand(3 * GI, 2 * GI)], sandbox.simulator.clock.epochMs);
    expect(facts?.target).toMatchObject({
      kind: 'PersistentVolumeClaim',
      volume: { requested: 2 * GI, storageClass: 'standard', expandable: true },
    });
  });

  it('raises the request, then the volume grows online and the verification passes', async () => {
    const r = await perform(ctx(), expand(3 * GI, 2 * GI));
    expect(r).toMatchObject({ status: 'succeeded', verify: [claim] });
    expect(r.changes).toEqual(['PersistentVolumeClaim/shop/data-orders-db-0 storage request 2Gi → 3Gi']);
    expect((await readClaim()).spec?.resources?.requests?.['storage']).toBe('3Gi');
    const pending = {
      incidentId: 'inc-test',
      decisionId: 'd1',
      action: expand(3 * GI, 2 * GI),
      actedAt: sandbox.simulator.clock.epochMs,
      verifyAt: sandbox.simulator.clock.epochMs + 60_000,
      verify: [claim],
    };
    sandbox.step();
    // The resizer has started but the volume is still 2Gi: not verified yet.
    const early = await verify(kube, pending);
    expect(early.resolved).toBe(false);
    expect(early.message).toMatch(/capacity 2Gi has not reached the requested 3Gi \(Resizing\)/);
    for (let i = 0; i < 4; i++) sandbox.step();
    expect((await readClaim()).status?.capacity?.['storage']).toBe('3Gi');
    expect((await verify(kube, pending)).resolved).toBe(true);
    // The writes go on into the larger volume.
    const volume = sandbox.simulator.ctx.volumes.get('shop/data-orders-db-0');
    expect(volume?.used).toBeGreaterThan(1228 * 2 ** 20);
  });

  it('applies a decision once: again it is skipped, and a size changed since is not overwritten', async () => {
    expect((await perform(ctx(), expand(3 * GI, 2 * GI))).status).toBe('succeeded');
    expect((await perform(ctx(), expand(3 * GI, 2 * GI))).status).toBe('skipped');
    const stale = await perform(ctx(), expand(5 * GI, 2 * GI));
    expect(stale.status).toBe('failed');
    expect(stale.message).toMatch(/changed since the decision/);
    expect((await readClaim()).spec?.resources?.requests?.['storage']).toBe('3Gi');
  });

  it('the API server refuses a shrink, and any resize when the StorageClass does not allow it', async () => {
    const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    const patch = (storage: string) =>
      kube.core.patchNamespacedPersistentVolumeClaim(
        { namespace: 'shop', name: claim.name, body: { spec: { resources: { requests: { storage } } } } },
        merge,
      );
    await expect(patch('1Gi')).rejects.toMatchObject({ code: 422 });
    await kube.kubeConfig
      .makeApiClient(k8s.StorageV1Api)
      .patchStorageClass({ name: 'standard', body: { allowVolumeExpansion: false } }, merge);
    await expect(patch('3Gi')).rejects.toMatchObject({ code: 403 });
    const r = await perform(ctx(), expand(3 * GI, 2 * GI));
    expect(r.status).toBe('failed');
    expect(r.message).toMatch(/refused.*storageclass that provisions the pvc must support resize/);
    const [facts] = await gatherFacts(kube, [expand(3 * GI, 2 * GI)], sandbox.simulator.clock.epochMs);
    expect(facts?.target?.volume?.expandable).toBe(false);
    expect((await readClaim()).spec?.resources?.requests?.['storage']).toBe('2Gi');
  });

  it('a full volume crash-loops the pod that writes to it', () => {
    const volume = sandbox.simulator.ctx.volumes.get('shop/data-orders-db-0');
    if (!volume) throw new Error('no volume');
    volume.used = 2 * GI;
    for (let i = 0; i < 3; i++) sandbox.step();
    const db = [...sandbox.simulator.ctx.pods.values()].find((p) => p.name === 'orders-db-0');
    expect(db?.containers[0]?.lastTermination?.reason).toBe('Error');
    expect(db?.containers[0]?.phase).toBe('backoff');
  });
});
