import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { definition as rca, type RcaDeps } from '../../../functions/rca/index.js';
import type { Sandbox } from '../../../sandbox/sandbox.js';
import { DiagnosisData, type IncidentStatus } from '../../../shared/contracts/index.js';
import type { KubeClients } from '../../../shared/kube/index.js';
import type { InboundEvent } from '../../../shared/runtime/index.js';
import { MemoryStore } from '../../../shared/store/index.js';
import { INCIDENTS, memoryAnomalyEvent } from '../../support/incidents.js';
import { silentLog, testConfig } from '../../support/runtime.js';
import { startWithKurative } from '../../support/sandbox.js';

describe('rca writes an Incident from its newest diagnosis only', () => {
  let sandbox: Sandbox;
  let kube: KubeClients;

  beforeAll(async () => {
    ({ sandbox, kube } = await startWithKurative('memory-leak', 6));
  });
  afterAll(async () => sandbox.close());

  const at = () => new Date(sandbox.simulator.clock.epochMs).toISOString();
  const cartPods = () =>
    sandbox.simulator.cluster.store
      .list('/pods')
      .map((p) => p.metadata.name)
      .filter((n) => n.startsWith('cart-'));

  const anomaly = (pod: string) => memoryAnomalyEvent(pod, at());

  it('leaves the Incident to a newer revision, and still emits the diagnosis', async () => {
    const deps: RcaDeps = { store: new MemoryStore(), kube };
    const handle = async (e: InboundEvent) => {
      const out = (await rca.handle(e as never, { deps, log: silentLog, config: testConfig() })) as
        { data: unknown } | undefined;
      return out && DiagnosisData.parse(out.data);
    };
    const [a, b, c] = cartPods();
    const first = await handle(anomaly(a ?? ''));
    expect(first?.sequence).toBe(1);
    const name = first?.incidentId ?? '';
    const read = async () =>
      ((await kube.custom.getClusterCustomObject({ ...INCIDENTS, name })) as { status: IncidentStatus })
        .status;
    expect(await read()).toMatchObject({ revision: 1, anomalies: 1, phase: 'Diagnosed' });
    const second = await handle(anomaly(b ?? ''));
    expect(second?.sequence).toBe(2);
    expect(await read()).toMatchObject({ revision: 2, anomalies: 2 });
    // As if a newer diagnosis (revision 9) had been written meanwhile by another instance.
    await kube.custom.patchClusterCustomObjectStatus(
      { ...INCIDENTS, name, body: { status: { revision: 9, rootCause: 'newer' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const third = await handle(anomaly(c ?? ''));
    expect(third?.sequence).toBe(3);
    expect(await read()).toMatchObject({ revision: 9, rootCause: 'newer', anomalies: 2 });
  });
});
