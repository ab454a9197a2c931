import * as k8s from '@kubernetes/client-node';
import type { ActionSpec } from '../../shared/contracts/index.js';
import { apiFailure, statusOf, type KubeClients } from '../../shared/kube/index.js';
import { isOpenIncident, listIncidents } from '../../shared/kube/incidents.js';
import {
  matchLabelsSelector,
  readWorkload,
  templateRevisions,
  type Workload,
} from '../../shared/kube/workloads.js';
import { parseQuantity } from '../../shared/quantity/index.js';
import { OPT_OUT_LABEL, OPT_OUT_VALUE } from '../../shared/contracts/index.js';
import type { ClusterFacts } from './decide.js';
import type { TargetFacts } from './bounds.js';

/** An incident counts as open for the circuit breaker while unresolved and seen this recently. */
const OPEN_WINDOW_MS = 30 * 60_000;

function quantities(list: Record<string, string> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(list ?? {})) {
    const q = parseQuantity(v);
    if (q !== undefined) out[k] = q;
  }
  return out;
}

function containersOf(spec: k8s.V1PodSpec | undefined): TargetFacts['containers'] {
  return (spec?.containers ?? []).map((c) => ({
    name: c.name,
    limits: quantities(c.resources?.limits),
    requests: quantities(c.resources?.requests),
  }));
}

const ignore404 = async <T>(p: Promise<T>): Promise<T | undefined> => {
  try {
    return await p;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
};

async function workloadFacts(kube: KubeClients, kind: string, w: Workload): Promise<TargetFacts> {
  const namespace = w.metadata?.namespace ?? 'default';
  const selector = matchLabelsSelector(w.spec?.selector.matchLabels);
  const pods = selector
    ? (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items
    : [];
  const autoscaling = kube.kubeConfig.makeApiClient(k8s.AutoscalingV2Api);
  const hpas = (await autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace })).items;
  const autoscaler = hpas.find(
    (h) => h.spec?.scaleTargetRef.kind === kind && h.spec.scaleTargetRef.name === w.metadata?.name,
  )?.metadata?.name;
  const revisions = (await templateRevisions(kube, kind, w)).length;
  const replicas =
    kind === 'DaemonSet'
      ? ((w as k8s.V1DaemonSet).status?.desiredNumberScheduled ?? pods.length)
      : ((w.spec as { replicas?: number } | undefined)?.replicas ?? 1);
  return {
    kind,
    labels: w.metadata?.labels ?? {},
    replicas,
    containers: containersOf(w.spec?.template.spec),
    podsOptedOut: pods.some((p) => p.metadata?.labels?.[OPT_OUT_LABEL] === OPT_OUT_VALUE),
    revisions,
    ...(autoscaler ? { autoscaler } : {}),
  };
}

async function podFacts(
  kube: KubeClients,
  namespace: string,
  name: string,
): Promise<TargetFacts | undefined> {
  const pod = await ignore404(kube.core.readNamespacedPod({ namespace, name }));
  if (!pod) return undefined;
  // The blast radius of disrupting one pod is measured against its workload's replicas.
  let replicas = 1;
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (owner?.kind === 'ReplicaSet') {
    const rs = await ignore404(kube.apps.readNamespacedReplicaSet({ namespace, name: owner.name }));
    const dep = rs?.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment');
    const d = dep
      ? await ignore404(kube.apps.readNamespacedDeployment({ namespace, name: dep.name }))
      : undefined;
    replicas = d?.spec?.replicas ?? rs?.spec?.replicas ?? 1;
  } else if (owner?.kind === 'StatefulSet') {
    const s = await ignore404(kube.apps.readNamespacedStatefulSet({ namespace, name: owner.name }));
    replicas = s?.spec?.replicas ?? 1;
  }
  return {
    kind: 'Pod',
    labels: pod.metadata?.labels ?? {},
    replicas,
    containers: containersOf(pod.spec),
    podsOptedOut: pod.metadata?.labels?.[OPT_OUT_LABEL] === OPT_OUT_VALUE,
  };
}

/** A claim's requested size and whether its StorageClass allows expansion. */
async function claimFacts(
  kube: KubeClients,
  namespace: string,
  name: string,
): Promise<TargetFacts | undefined> {
  const pvc = await ignore404(kube.core.readNamespacedPersistentVolumeClaim({ namespace, name }));
  if (!pvc) return undefined;
  const storageClass = pvc.spec?.storageClassName ?? '';
  const sc = storageClass
    ? await ignore404(
        kube.kubeConfig.makeApiClient(k8s.StorageV1Api).readStorageClass({ name: storageClass }),
      )
    : undefined;
  return {
    kind: 'PersistentVolumeClaim',
    labels: pvc.metadata?.labels ?? {},
    volume: {
      requested: parseQuantity(pvc.spec?.resources?.requests?.['storage']) ?? 0,
      storageClass,
      expandable: sc?.allowVolumeExpansion === true,
    },
  };
}

async function targetFacts(kube: KubeClients, action: ActionSpec): Promise<TargetFacts | undefined> {
  const { kind, namespace, name } = action.target;
  if (kind === 'Node') {
    const node = await ignore404(kube.core.readNode({ name }));
    return node ? { kind, labels: node.metadata?.labels ?? {} } : undefined;
  }
  if (!namespace) return undefined;
  if (kind === 'Pod') return podFacts(kube, namespace, name);
  if (kind === 'PersistentVolumeClaim') return claimFacts(kube, namespace, name);
  if (kind === 'ConfigMap') {
    const cm = await ignore404(kube.core.readNamespacedConfigMap({ namespace, name }));
    return cm ? { kind, labels: cm.metadata?.labels ?? {} } : undefined;
  }
  const w = await ignore404(readWorkload(kube, kind, namespace, name));
  return w ? workloadFacts(kube, kind, w) : undefined;
}

const isReady = (n: k8s.V1Node) =>
  n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * Everything decide() needs to know about the cluster for each of `actions`, read now: the nodes
 * and open incidents once, the target and its namespace per action.
 */
export async function gatherFacts(
  kube: KubeClients,
  actions: readonly ActionSpec[],
  now: number,
): Promise<ClusterFacts[]> {
  try {
    const readNamespace = (ns: string | undefined) =>
      ns ? ignore404(kube.core.readNamespace({ name: ns })) : Promise.resolve(undefined);
    const [nodes, incidents, perAction] = await Promise.all([
      kube.core.listNode(),
      listIncidents(kube),
      Promise.all(actions.map((a) => Promise.all([targetFacts(kube, a), readNamespace(a.target.namespace)]))),
    ]);
    const open = incidents.filter((i) => {
      if (!isOpenIncident(i)) return false;
      const last = Date.parse(i.status?.lastSeenAt ?? '');
      return Number.isFinite(last) && now - last <= OPEN_WINDOW_MS;
    });
    const cluster = {
      openIncidents: open.length,
      nodes: nodes.items.length,
      readyNodes: nodes.items.filter(isReady).length,
      cordonedNodes: nodes.items.filter((n) => n.spec?.unschedulable).map((n) => n.metadata?.name ?? ''),
      schedulableNodes: nodes.items
        .filter((n) => isReady(n) && !n.spec?.unschedulable)
        .map((n) => n.metadata?.name ?? ''),
    };
    return perAction.map(([target, namespace]) => ({
      ...cluster,
      namespaceLabels: namespace?.metadata?.labels ?? {},
      target,
    }));
  } catch (error) {
    throw apiFailure('reading the facts policy decides on', error);
  }
}
