import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { definition as rca, type RcaDeps } from '../../../functions/rca/index.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import { DiagnosisData } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { jsonPages } from '../../../shared/kube/json-pages.js';
import type { ListPage } from '../../../shared/kube/pages.js';
import { MemoryStore } from '../../../shared/store/index.js';
import { memoryAnomalyEvent } from '../../support/incidents.js';
import { silentLog, testConfig } from '../../support/runtime.js';
import { recordingJsonPages, startWithKurative, type PageRequest } from '../../support/sandbox.js';

describe('rca reads the cluster a page at a time', () => {
  let sandbox: Sandbox;
  let kube: KubeClients;

  beforeAll(async () => {
    ({ sandbox, kube } = await startWithKurative('bad-rollout', 12));
  });
  afterAll(async () => sandbox.close());

  const recording = (calls: PageRequest[]) => recordingJsonPages(kube.kubeConfig, calls);

  /** The same lists through client-node's typed API (its models), as rca read them before. */
  function modelPages(path: string): ListPage<unknown> {
    const autoscaling = kube.kubeConfig.makeApiClient(k8s.AutoscalingV2Api);
    const lists: Record<string, ListPage<unknown>> = {
      '/api/v1/pods': (p) => kube.core.listPodForAllNamespaces(p),
      '/apis/apps/v1/replicasets': (p) => kube.apps.listReplicaSetForAllNamespaces(p),
      '/apis/apps/v1/controllerrevisions': (p) => kube.apps.listControllerRevisionForAllNamespaces(p),
      '/apis/apps/v1/deployments': (p) => kube.apps.listDeploymentForAllNamespaces(p),
      '/apis/apps/v1/statefulsets': (p) => kube.apps.listStatefulSetForAllNamespaces(p),
      '/apis/apps/v1/daemonsets': (p) => kube.apps.listDaemonSetForAllNamespaces(p),
      '/api/v1/services': (p) => kube.core.listServiceForAllNamespaces(p),
      '/api/v1/nodes': (p) => kube.core.listNode(p),
      '/api/v1/configmaps': (p) => kube.core.listConfigMapForAllNamespaces(p),
      '/apis/autoscaling/v2/horizontalpodautoscalers': (p) =>
        autoscaling.listHorizontalPodAutoscalerForAllNamespaces(p),
    };
    const list = lists[path];
    if (!list) throw new Error(`no client-node list for ${path}`);
    return list;
  }

  /** A memory anomaly of the `which`-th pod in the shop namespace. */
  function anomaly(which = 0) {
    const shop = sandbox.simulator.cluster.store.list('/pods').filter((p) => p.metadata.namespace === 'shop');
    return memoryAnomalyEvent(
      shop[which]?.metadata.name ?? '',
      new Date(sandbox.simulator.clock.epochMs).toISOString(),
    );
  }

  const diagnosis = async (deps: RcaDeps, which = 0) => {
    const out = (await rca.handle(anomaly(which) as never, {
      deps,
      log: silentLog,
      config: testConfig(),
    })) as { data: unknown } | undefined;
    return out && DiagnosisData.parse(out.data);
  };

  it('diagnoses from pages of two objects as from whole lists, asking for every page', async () => {
    const whole = await diagnosis({ store: new MemoryStore(), kube, listPageSize: 1000 });
    const calls: PageRequest[] = [];
    const paged = await diagnosis({
      store: new MemoryStore(),
      kube,
      listPageSize: 2,
      listPages: recording(calls),
    });
    expect(whole?.candidates.length).toBeGreaterThan(0);
    expect(paged?.candidates).toEqual(whole?.candidates);
    const pods = (await kube.core.listPodForAllNamespaces()).items.length;
    const podPages = calls.filter((c) => c.path === '/api/v1/pods');
    expect(pods).toBeGreaterThan(4);
    expect(podPages.length).toBe(Math.ceil(pods / 2));
    expect(podPages.filter((c) => c.continued).length).toBe(podPages.length - 1);
    // Every list of the snapshot is paged, not only the pods'.
    expect(new Set(calls.map((c) => c.path)).size).toBe(10);
    expect(calls.every((c) => c.limit === 2)).toBe(true);
  });

  it("diagnoses from the API server's JSON as from client-node's models", async () => {
    const json = await diagnosis({ store: new MemoryStore(), kube });
    const models = await diagnosis({ store: new MemoryStore(), kube, listPages: modelPages });
    expect(json?.candidates.length).toBeGreaterThan(0);
    expect(json?.candidates).toEqual(models?.candidates);
    expect(json?.severity).toBe(models?.severity);
  });

  it('reads the cluster once for the events that arrive while it is being read, and anew after', async () => {
    const calls: PageRequest[] = [];
    const deps: RcaDeps = { store: new MemoryStore(), kube, listPages: recording(calls) };
    const reads = () => calls.filter((c) => c.path === '/api/v1/pods' && !c.continued).length;
    const [first, second] = await Promise.all([diagnosis(deps, 0), diagnosis(deps, 1)]);
    expect(reads()).toBe(1);
    expect(first?.candidates.length).toBeGreaterThan(0);
    expect(second?.candidates.length).toBeGreaterThan(0);
    await diagnosis(deps, 2);
    expect(reads()).toBe(2);
  });

  it('does not keep a failed read: the retried event reads the cluster again', async () => {
    let refuse = true;
    const listPages = (path: string): ListPage<unknown> => {
      const read = jsonPages(kube.kubeConfig, path);
      return (page) =>
        refuse && path === '/api/v1/pods'
          ? Promise.reject(Object.assign(new Error('unavailable'), { code: 503 }))
          : read(page);
    };
    const deps: RcaDeps = { store: new MemoryStore(), kube, listPages };
    await expect(diagnosis(deps)).rejects.toMatchObject({ status: 503 });
    refuse = false;
    expect((await diagnosis(deps))?.candidates.length).toBeGreaterThan(0);
  });
});
