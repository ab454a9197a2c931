import * as k8s from '@kubernetes/client-node';
import type { IncidentStatus } from '../../shared/contracts/index.js';
import type { KubeClients } from '../../shared/kube/index.js';

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
