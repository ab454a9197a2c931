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

  function anomaly() {
    const pod = sandbox.simulator.cluster.store.list('/pods').find((p) => p.metadata.namespace === 'shop')
      ?.metadata.name;
    return memoryAnomalyEvent(pod ?? '', new Date(sandbox.simulator.clock.epochMs).toISOString());
  }

  const diagnosis = async (deps: RcaDeps) => {
    const out = (await rca.handle(anomaly() as never, { deps, log: silentLog, config: testConfig() })) as
      { data: unknown } | undefined;
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
});
