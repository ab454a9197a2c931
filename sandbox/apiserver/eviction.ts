import type { Cluster } from './cluster.js';
import { ApiError } from './errors.js';
import { matchesLabels, selectorFromObject } from './selectors.js';
import type { KubeObject } from './types.js';

/** Pod readiness as the disruption controller counts it. */
export function podIsReady(pod: KubeObject): boolean {
  const conditions =
    (pod['status'] as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True') && !pod.metadata.deletionTimestamp;
}

function resolve(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'string' && value.endsWith('%')) {
    const pct = Number(value.slice(0, -1)) / 100;
    return roundUp ? Math.ceil(pct * total) : Math.floor(pct * total);
  }
  return Number(value ?? 0);
}

/** Expected pod count: the scale of the pods' controller, as the disruption controller uses it. */
function expectedCount(cluster: Cluster, pods: KubeObject[]): number {
  let expected = 0;
  const seen = new Set<string>();
  for (const pod of pods) {
    const owner = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (!owner) {
      expected += 1;
      continue;
    }
    if (seen.has(owner.uid)) continue;
    seen.add(owner.uid);
    const type = cluster.registry.findKind(owner.apiVersion, owner.kind);
    const ownerObject = type ? cluster.tryGet(type, pod.metadata.namespace, owner.name) : undefined;
    const replicas = (ownerObject?.['spec'] as { replicas?: number } | undefined)?.replicas;
    expected +=
      replicas ?? pods.filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === owner.uid)).length;
  }
  return expected;
}

/** PodDisruptionBudget status (currentHealthy, desiredHealthy, disruptionsAllowed, expectedPods). */
export function pdbStatus(
  cluster: Cluster,
  pdb: KubeObject,
): { currentHealthy: number; desiredHealthy: number; disruptionsAllowed: number; expectedPods: number } {
  const spec = (pdb['spec'] ?? {}) as {
    selector?: Parameters<typeof selectorFromObject>[0];
    minAvailable?: unknown;
    maxUnavailable?: unknown;
  };
  const selector = selectorFromObject(spec.selector);
  const pods = cluster.store
    .scan('/pods', pdb.metadata.namespace)
    .filter((p) => matchesLabels(selector, p.metadata.labels));
  const expected = expectedCount(cluster, pods);
  const healthy = pods.filter(podIsReady).length;
  let desired: number;
  if (spec.maxUnavailable !== undefined)
    desired = Math.max(0, expected - resolve(spec.maxUnavailable, expected, true));
  else desired = resolve(spec.minAvailable ?? 1, expected, true);
  return {
    currentHealthy: healthy,
    desiredHealthy: desired,
    disruptionsAllowed: Math.max(0, healthy - desired),
    expectedPods: expected,
  };
}

/**
 * The eviction subresource: refuse with 429 when a PodDisruptionBudget would be violated,
 * otherwise delete the pod. An unready pod may always be evicted (it does not count as healthy).
 */
export function evictPod(cluster: Cluster, namespace: string, name: string, dryRun: boolean): void {
  const podType = cluster.kind('v1', 'Pod');
  const pod = cluster.get(podType, namespace, name);
  const pdbs = cluster.store
    .scan('policy/poddisruptionbudgets', namespace)
    .filter((pdb) =>
      matchesLabels(
        selectorFromObject((pdb['spec'] as { selector?: Parameters<typeof selectorFromObject>[0] }).selector),
        pod.metadata.labels,
      ),
    );
  if (pdbs.length > 1) {
    throw new ApiError(
      500,
      'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      'InternalError',
    );
  }
  const pdb = pdbs[0];
  if (pdb && podIsReady(pod)) {
    const status = pdbStatus(cluster, pdb);
    if (status.disruptionsAllowed < 1) {
      throw new ApiError(
        429,
        "Cannot evict pod as it would violate the pod's disruption budget.",
        'TooManyRequests',
        {
          causes: [
            {
              reason: 'DisruptionBudget',
              message: `The disruption budget ${pdb.metadata.name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
            },
          ],
        },
      );
    }
  }
  cluster.delete(podType, namespace, name, { dryRun });
}
