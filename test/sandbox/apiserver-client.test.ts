import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { RunningApiServer } from '../../sandbox/server-bootstrap.js';
import { kubeConfigFrom, startTestApiServer } from '../support/sandbox.js';

let server: RunningApiServer;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;

beforeAll(async () => {
  server = await startTestApiServer();
  kc = kubeConfigFrom(server);
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: 'shop' } } });
});
afterAll(async () => {
  await server.close();
});

const statusOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return 200;
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
};

function pod(name: string, labels: Record<string, string>, extra: Partial<k8s.V1Pod> = {}): k8s.V1Pod {
  return { metadata: { name, labels }, spec: { containers: [{ name: 'app', image: 'app:1' }] }, ...extra };
}

describe('sandbox API server with @kubernetes/client-node', () => {
  it('creates, reads, lists, updates and deletes', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: 'shop',
      body: { metadata: { name: 'cfg' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.creationTimestamp).toBeTruthy();
    const read = await core.readNamespacedConfigMap({ namespace: 'shop', name: 'cfg' });
    expect(read.data).toEqual({ a: '1' });
    read.data = { a: '2' };
    const updated = await core.replaceNamespacedConfigMap({ namespace: 'shop', name: 'cfg', body: read });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));
    const list = await core.listNamespacedConfigMap({ namespace: 'shop' });
    expect(list.items.map((c) => c.metadata?.name)).toContain('cfg');
    expect(list.metadata?.resourceVersion).toBeTruthy();
    await core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'cfg' });
    expect(await statusOf(core.readNamespacedConfigMap({ namespace: 'shop', name: 'cfg' }))).toBe(404);
  });

  it('returns Status objects: 404, 409 AlreadyExists, 422 Invalid', async () => {
    await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'dup' } } });
    expect(
      await statusOf(
        core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'dup' } } }),
      ),
    ).toBe(409);
    expect(
      await statusOf(
        core.createNamespacedPod({
          namespace: 'shop',
          body: { metadata: { name: 'bad' }, spec: { containers: [] } },
        }),
      ),
    ).toBe(422);
    expect(
      await statusOf(
        core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'Not_Valid' } } }),
      ),
    ).toBe(422);
    expect(
      await statusOf(
        core.createNamespacedConfigMap({ namespace: 'nowhere', body: { metadata: { name: 'x' } } }),
      ),
    ).toBe(404);
  });

  it('rejects a stale update with 409 Conflict', async () => {
    const cm = await core.createNamespacedConfigMap({
      namespace: 'shop',
      body: { metadata: { name: 'race' }, data: { v: '0' } },
    });
    await core.replaceNamespacedConfigMap({
      namespace: 'shop',
      name: 'race',
      body: { ...cm, data: { v: '1' } },
    });
    expect(
      await statusOf(
        core.replaceNamespacedConfigMap({
          namespace: 'shop',
          name: 'race',
          body: { ...cm, data: { v: 'stale' } },
        }),
      ),
    ).toBe(409);
    expect((await core.readNamespacedConfigMap({ namespace: 'shop', name: 'race' })).data).toEqual({
      v: '1',
    });
  });

  it('filters by label and field selectors', async () => {
    await core.createNamespacedPod({ namespace: 'shop', body: pod('web-1', { app: 'web', tier: 'front' }) });
    await core.createNamespacedPod({ namespace: 'shop', body: pod('web-2', { app: 'web', tier: 'back' }) });
    await core.createNamespacedPod({ namespace: 'shop', body: pod('db-1', { app: 'db' }) });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedPod({ namespace: 'shop', labelSelector, fieldSelector })).items
        .map((p) => p.metadata?.name)
        .sort();
    expect(await names('app=web')).toEqual(['web-1', 'web-2']);
    expect(await names('app=web,tier!=back')).toEqual(['web-1']);
    expect(await names('app in (db,cache)')).toEqual(['db-1']);
    expect(await names('!tier')).toEqual(['db-1']);
    expect(await names(undefined, 'metadata.name=web-2')).toEqual(['web-2']);
    expect(await names(undefined, 'status.phase=Pending')).toEqual(['db-1', 'web-1', 'web-2']);
    expect(await statusOf(core.listNamespacedPod({ namespace: 'shop', labelSelector: 'a b c' }))).toBe(400);
  });

  it('paginates with limit and continue', async () => {
    for (let i = 0; i < 5; i++)
      await core.createNamespacedSecret({ namespace: 'shop', body: { metadata: { name: `s-${i}` } } });
    const first = await core.listNamespacedSecret({ namespace: 'shop', limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.metadata?._continue).toBeTruthy();
    const second = await core.listNamespacedSecret({
      namespace: 'shop',
      limit: 10,
      _continue: first.metadata?._continue,
    });
    expect(second.items.map((s) => s.metadata?.name)).toEqual(['s-2', 's-3', 's-4']);
  });

  it('applies merge, JSON and strategic-merge patches', async () => {
    await apps.createNamespacedDeployment({
      namespace: 'shop',
      body: {
        metadata: { name: 'api', labels: { app: 'api' } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'api' } },
          template: {
            metadata: { labels: { app: 'api' } },
            spec: {
              containers: [
                { name: 'app', image: 'api:1', env: [{ name: 'A', value: '1' }] },
                { name: 'sidecar', image: 'proxy:1' },
              ],
            },
          },
        },
      },
    });
    const merge = await apps.patchNamespacedDeployment(
      { namespace: 'shop', name: 'api', body: { metadata: { labels: { team: 'x' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(merge.metadata?.labels).toEqual({ app: 'api', team: 'x' });
    const smp = await apps.patchNamespacedDeployment(
      {
        namespace: 'shop',
        name: 'api',
        body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'api:2' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const containers = smp.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => `${c.name}=${c.image}`)).toEqual(['app=api:2', 'sidecar=proxy:1']);
    expect(containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);
    // Labels are metadata: only the template change bumps the generation.
    expect(smp.metadata?.generation).toBe(2);
    const json = await apps.patchNamespacedDeployment(
      { namespace: 'shop', name: 'api', body: [{ op: 'replace', path: '/spec/replicas', value: 4 }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    expect(json.spec?.replicas).toBe(4);
    expect(
      await statusOf(
        apps.patchNamespacedDeployment(
          { namespace: 'shop', name: 'api', body: [{ op: 'test', path: '/spec/replicas', value: 9 }] },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
        ),
      ),
    ).toBe(422);
  });

  it('serves the scale subresource', async () => {
    const scale = await apps.readNamespacedDeploymentScale({ namespace: 'shop', name: 'api' });
    expect(scale.spec?.replicas).toBe(4);
    expect(scale.status?.selector).toBe('app=api');
    const patched = await apps.patchNamespacedDeploymentScale(
      { namespace: 'shop', name: 'api', body: { spec: { replicas: 2 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(patched.spec?.replicas).toBe(2);
    expect((await apps.readNamespacedDeployment({ namespace: 'shop', name: 'api' })).spec?.replicas).toBe(2);
  });

  it('honours server-side dry-run: validates, returns the result, persists nothing', async () => {
    const dry = await core.createNamespacedConfigMap({
      namespace: 'shop',
      body: { metadata: { name: 'dry' }, data: { a: '1' } },
      dryRun: 'All',
    });
    expect(dry.metadata?.name).toBe('dry');
    expect(await statusOf(core.readNamespacedConfigMap({ namespace: 'shop', name: 'dry' }))).toBe(404);
    const before = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'api' });
    const result = await apps.patchNamespacedDeployment(
      { namespace: 'shop', name: 'api', body: { spec: { replicas: 7 } }, dryRun: 'All' },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(result.spec?.replicas).toBe(7);
    const after = await apps.readNamespacedDeployment({ namespace: 'shop', name: 'api' });
    expect(after.spec?.replicas).toBe(before.spec?.replicas);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(server.apiServer.audit.some((a) => a.dryRun && a.verb === 'patch' && a.name === 'api')).toBe(true);
    expect(
      await statusOf(core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'race', dryRun: 'All' })),
    ).toBe(200);
    expect((await core.readNamespacedConfigMap({ namespace: 'shop', name: 'race' })).metadata?.name).toBe(
      'race',
    );
  });

  it('watches, and resumes from a resourceVersion', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'shop' });
    const from = list.metadata?.resourceVersion ?? '';
    await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: 'w1' } } });
    await core.patchNamespacedConfigMap(
      { namespace: 'shop', name: 'w1', body: { data: { k: 'v' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const done = new Promise<void>((resolve, reject) => {
      void watch
        .watch(
          '/api/v1/namespaces/shop/configmaps',
          { resourceVersion: from },
          (type, obj: k8s.V1ConfigMap) => {
            seen.push(`${type}:${obj.metadata?.name}`);
            if (seen.length === 3) resolve();
          },
          (err) => (err ? reject(err as Error) : undefined),
        )
        .then((req) => setTimeout(() => req.abort(), 5000));
    });
    // A change after the watch started arrives live.
    setTimeout(() => void core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'w1' }), 100);
    await done;
    expect(seen).toEqual(['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1']);
  });

  it('answers a watch from a compacted resourceVersion with 410 Gone', async () => {
    const events: { type: string; code?: number }[] = [];
    const watch = new k8s.Watch(kc);
    await new Promise<void>((resolve) => {
      void watch.watch(
        '/api/v1/namespaces/shop/configmaps',
        { resourceVersion: '-5' },
        (type, obj: { code?: number }) => events.push({ type, code: obj.code }),
        () => resolve(),
      );
    });
    expect(events[0]).toEqual({ type: 'ERROR', code: 410 });
  });

  it('refuses an eviction that would violate a PodDisruptionBudget (429), allows it otherwise', async () => {
    const policy = kc.makeApiClient(k8s.PolicyV1Api);
    const ready = { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
    for (const n of ['guard-1', 'guard-2']) {
      await core.createNamespacedPod({ namespace: 'shop', body: pod(n, { app: 'guard' }) });
      const p = await core.readNamespacedPod({ namespace: 'shop', name: n });
      await core.replaceNamespacedPodStatus({
        namespace: 'shop',
        name: n,
        body: { ...p, ...ready },
      });
    }
    await policy.createNamespacedPodDisruptionBudget({
      namespace: 'shop',
      body: {
        metadata: { name: 'guard' },
        spec: { minAvailable: 2, selector: { matchLabels: { app: 'guard' } } },
      },
    });
    const evict = (name: string) =>
      core.createNamespacedPodEviction({
        namespace: 'shop',
        name,
        body: { metadata: { name, namespace: 'shop' } },
      });
    expect(await statusOf(evict('guard-1'))).toBe(429);
    expect((await core.readNamespacedPod({ namespace: 'shop', name: 'guard-1' })).metadata?.name).toBe(
      'guard-1',
    );
    const pdb = await policy.readNamespacedPodDisruptionBudget({ namespace: 'shop', name: 'guard' });
    expect(pdb.status?.disruptionsAllowed).toBe(0);
    await policy.patchNamespacedPodDisruptionBudget(
      { namespace: 'shop', name: 'guard', body: { spec: { minAvailable: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(await statusOf(evict('guard-1'))).toBe(200);
    expect(await statusOf(core.readNamespacedPod({ namespace: 'shop', name: 'guard-1' }))).toBe(404);
    expect(await statusOf(evict('guard-2'))).toBe(429);
  });

  it('garbage-collects dependents when their owner is deleted, and orphans on request', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: 'shop',
      body: { metadata: { name: 'owner' } },
    });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' };
    await core.createNamespacedSecret({
      namespace: 'shop',
      body: { metadata: { name: 'child', ownerReferences: [ref] } },
    });
    await core.createNamespacedSecret({
      namespace: 'shop',
      body: {
        metadata: {
          name: 'grandchild',
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'Secret',
              name: 'child',
              uid:
                (await core.readNamespacedSecret({ namespace: 'shop', name: 'child' })).metadata?.uid ?? '',
            },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'owner' });
    expect(await statusOf(core.readNamespacedSecret({ namespace: 'shop', name: 'child' }))).toBe(404);
    expect(await statusOf(core.readNamespacedSecret({ namespace: 'shop', name: 'grandchild' }))).toBe(404);
    const owner2 = await core.createNamespacedConfigMap({
      namespace: 'shop',
      body: { metadata: { name: 'owner2' } },
    });
    await core.createNamespacedSecret({
      namespace: 'shop',
      body: {
        metadata: {
          name: 'kept',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner2', uid: owner2.metadata?.uid ?? '' },
          ],
        },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'owner2', propagationPolicy: 'Orphan' });
    const kept = await core.readNamespacedSecret({ namespace: 'shop', name: 'kept' });
    expect(kept.metadata?.ownerReferences ?? []).toEqual([]);
  });

  it('enforces RBAC per service account (403) and records an audit log', async () => {
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: 'shop', body: { metadata: { name: 'reader' } } });
    await rbac.createNamespacedRole({
      namespace: 'shop',
      body: {
        metadata: { name: 'read-pods' },
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'shop',
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-pods' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'shop' }],
      },
    });
    const asReader = kubeConfigFrom(server, { namespace: 'shop', name: 'reader' }).makeApiClient(
      k8s.CoreV1Api,
    );
    expect((await asReader.listNamespacedPod({ namespace: 'shop' })).items.length).toBeGreaterThan(0);
    expect(await statusOf(asReader.deleteNamespacedPod({ namespace: 'shop', name: 'web-1' }))).toBe(403);
    expect(await statusOf(asReader.listNamespacedPod({ namespace: 'default' }))).toBe(403);
    expect(await statusOf(asReader.listNamespacedConfigMap({ namespace: 'shop' }))).toBe(403);
    expect(
      await statusOf(
        asReader.createNamespacedPodEviction({
          namespace: 'shop',
          name: 'web-1',
          body: { metadata: { name: 'web-1' } },
        }),
      ),
    ).toBe(403);
    const denied = server.apiServer.audit.filter((a) => a.user === 'system:serviceaccount:shop:reader');
    expect(
      denied.map((a) => `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''} ${a.code}`),
    ).toEqual(['delete pods 403', 'create pods/eviction 403']);
    const anonymous = new k8s.KubeConfig();
    anonymous.loadFromString(server.kubeconfigFor('shop', 'reader').replace(/token: .*/, 'token: wrong'));
    expect(
      await statusOf(anonymous.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'shop' })),
    ).toBe(401);
  });

  it('serves CRDs: custom resources with schema validation and a status subresource', async () => {
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: 'gadgets.example.com' },
        spec: {
          group: 'example.com',
          scope: 'Namespaced',
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      type: 'object',
                      required: ['size'],
                      properties: { size: { type: 'integer', minimum: 1 } },
                    },
                    status: { type: 'object', properties: { phase: { type: 'string' } } },
                  },
                },
              },
            },
          ],
        },
      },
    });
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const base = { group: 'example.com', version: 'v1', namespace: 'shop', plural: 'gadgets' };
    const g = (await custom.createNamespacedCustomObject({
      ...base,
      body: {
        apiVersion: 'example.com/v1',
        kind: 'Gadget',
        metadata: { name: 'g1' },
        spec: { size: 2, junk: true },
        status: { phase: 'ignored' },
      },
    })) as { spec: Record<string, unknown>; status?: unknown };
    expect(g.spec).toEqual({ size: 2 });
    expect(
      await statusOf(
        custom.createNamespacedCustomObject({
          ...base,
          body: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g2' }, spec: { size: 0 } },
        }),
      ),
    ).toBe(422);
    await custom.patchNamespacedCustomObjectStatus(
      { ...base, name: 'g1', body: { status: { phase: 'Ready' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await custom.patchNamespacedCustomObject(
      { ...base, name: 'g1', body: { status: { phase: 'Hacked' }, spec: { size: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const after = (await custom.getNamespacedCustomObject({ ...base, name: 'g1' })) as {
      spec: { size: number };
      status: { phase: string };
      metadata: { generation: number };
    };
    expect(after.status.phase).toBe('Ready');
    expect(after.spec.size).toBe(3);
    expect(after.metadata.generation).toBe(2);
  });
});
