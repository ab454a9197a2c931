import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definition as rca, type RcaDeps } from '../../../functions/rca/index.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import { DiagnosisData } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import { MemoryStore } from '../../../shared/store/index.js';
import { memoryAnomalyEvent } from '../../support/incidents.js';
import { silentLog, testConfig } from '../../support/runtime.js';
import { startWithKurative } from '../../support/sandbox.js';

describe('rca reads the cluster a page at a time', () => {
  let sandbox: Sandbox;
  let kube: KubeClients;

  beforeAll(async () => {
    ({ sandbox, kube } = await startWithKurative('bad-rollout', 12));
  });
  afterAll(async () => sandbox.close());

  /** The client with each list call recorded (its method and the page asked for). */
  function recording(calls: { list: string; limit?: number; continued: boolean }[]): KubeClients {
    const spy = <T extends object>(api: T): T =>
      new Proxy(api, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            const page = args[0] as { limit?: number; _continue?: string } | undefined;
            if (String(prop).startsWith('list'))
              calls.push({
                list: String(prop),
                ...(page?.limit !== undefined ? { limit: page.limit } : {}),
                continued: page?._continue !== undefined,
              });
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    return { ...kube, core: spy(kube.core), apps: spy(kube.apps) };
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
    const whole = await diagnosis({ store: new MemoryStore(), kube });
    const calls: { list: string; limit?: number; continued: boolean }[] = [];
    const paged = await diagnosis({ store: new MemoryStore(), kube: recording(calls), listPageSize: 2 });
    expect(whole?.candidates.length).toBeGreaterThan(0);
    expect(paged?.candidates).toEqual(whole?.candidates);
    const pods = (await kube.core.listPodForAllNamespaces()).items.length;
    const podPages = calls.filter((c) => c.list === 'listPodForAllNamespaces');
    expect(pods).toBeGreaterThan(4);
    expect(podPages.length).toBe(Math.ceil(pods / 2));
    expect(podPages.filter((c) => c.continued).length).toBe(podPages.length - 1);
    // Every list of the snapshot is paged, not only the pods'.
    for (const list of ['listReplicaSetForAllNamespaces', 'listNode', 'listConfigMapForAllNamespaces'])
      expect(calls.filter((c) => c.list === list).every((c) => c.limit === 2)).toBe(true);
    expect(calls.some((c) => c.list === 'listReplicaSetForAllNamespaces')).toBe(true);
  });

  it('reads the cluster once for the events that arrive while it is being read, and anew after', async () => {
    const calls: { list: string; limit?: number; continued: boolean }[] = [];
    const deps: RcaDeps = { store: new MemoryStore(), kube: recording(calls) };
    const reads = () => calls.filter((c) => c.list === 'listPodForAllNamespaces' && !c.continued).length;
    const [first, second] = await Promise.all([diagnosis(deps, 0), diagnosis(deps, 1)]);
    expect(reads()).toBe(1);
    expect(first?.candidates.length).toBeGreaterThan(0);
    expect(second?.candidates.length).toBeGreaterThan(0);
    await diagnosis(deps, 2);
    expect(reads()).toBe(2);
  });

  it('does not keep a failed read: the retried event reads the cluster again', async () => {
    let refuse = true;
    const core = Object.create(kube.core) as KubeClients['core'];
    Object.assign(core, {
      listPodForAllNamespaces: (page: { limit: number }) =>
        refuse
          ? Promise.reject(Object.assign(new Error('unavailable'), { code: 503 }))
          : kube.core.listPodForAllNamespaces(page),
    });
    const deps: RcaDeps = { store: new MemoryStore(), kube: { ...kube, core } };
    await expect(diagnosis(deps)).rejects.toMatchObject({ status: 503 });
    refuse = false;
    expect((await diagnosis(deps))?.candidates.length).toBeGreaterThan(0);
  });
});
