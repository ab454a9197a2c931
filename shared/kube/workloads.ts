import type * as k8s from '@kubernetes/client-node';
import type { KubeClients } from './index.js';

export type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

/** `matchLabels` as a label selector string (`app=cart,tier=web`); empty when there are none. */
export function matchLabelsSelector(labels: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Read a Deployment, StatefulSet or DaemonSet; undefined for any other kind. API errors propagate. */
export async function readWorkload(
  kube: KubeClients,
  kind: string,
  namespace: string,
  name: string,
): Promise<Workload | undefined> {
  switch (kind) {
    case 'Deployment':
      return kube.apps.readNamespacedDeployment({ namespace, name });
    case 'StatefulSet':
      return kube.apps.readNamespacedStatefulSet({ namespace, name });
    case 'DaemonSet':
      return kube.apps.readNamespacedDaemonSet({ namespace, name });
    default:
      return undefined;
  }
}
