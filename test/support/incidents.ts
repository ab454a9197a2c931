import * as k8s from '@kubernetes/client-node';
import { EVENT_TYPES, type AnomalyData, type IncidentStatus } from '../../shared/contracts/index.js';
import type { KubeClients } from '../../shared/kube/index.js';
import type { InboundEvent } from '../../shared/runtime/index.js';

export const INCIDENTS = { group: 'kurative.dev', version: 'v1alpha1', plural: 'incidents' } as const;

/** Create an Incident as rca would: the object, then its status through the status subresource. */
export async function createIncident(
  kube: KubeClients,
  name: string,
  status: Pick<IncidentStatus, 'phase' | 'startedAt' | 'lastSeenAt' | 'anomalies'>,
): Promise<void> {
  await kube.custom.createClusterCustomObject({
    ...INCIDENTS,
    body: { apiVersion: 'kurative.dev/v1alpha1', kind: 'Incident', metadata: { name }, spec: {} },
  });
  await kube.custom.patchClusterCustomObjectStatus(
    { ...INCIDENTS, name, body: { status: { severity: 'warning', ...status } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

/**
 * An anomaly event as score sends it: the memory of the pod's container far above its baseline,
 * observed at `at` (the sandbox's clock).
 */
export function memoryAnomalyEvent(pod: string, at: string): InboundEvent {
  const data: AnomalyData = {
    anomalyId: `mem-${pod}`,
    entity: { kind: 'Pod', namespace: 'shop', name: pod, container: 'app' },
    signal: 'memory_working_set_bytes',
    kind: 'deviation',
    detector: 'builtin-memory-deviation',
    score: 0.99,
    threshold: 0.9,
    severity: 'warning',
    value: 2e8,
    baseline: { level: 1e8, spread: 1e6 },
    onset: at,
    observedAt: at,
  };
  return {
    id: data.anomalyId,
    type: EVENT_TYPES.anomaly,
    source: 'test',
    subject: undefined,
    time: at,
    incidentId: undefined,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data,
    extensions: {},
  };
}
