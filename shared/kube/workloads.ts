import type * as k8s from '@kubernetes/client-node';
import type { KubeClients } from './index.js';

export type Workload = k8s.V1Deployment | k8s.V1StatefulSet | k8s.V1DaemonSet;

/** The kinds a Workload is (what readWorkload reads and a rollback can roll back). */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** `matchLabels` as a label selector string (`app=cart,tier=web`); empty when there are none. */
export function matchLabelsSelector(labels: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Whether a pod's Ready condition is True. */
export function podReady(pod: {
  status?: { conditions?: readonly { type: string; status: string }[] };
}): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
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

/** One revision of a workload's pod template: a Deployment's ReplicaSet, or a StatefulSet's or DaemonSet's ControllerRevision. */
export interface TemplateRevision {
  /** The ReplicaSet's or ControllerRevision's name (a StatefulSet's pods carry it as `controller-revision-hash`). */
  readonly name: string;
  readonly revision: number;
  /** The pod template without the controller's own hash label. */
  readonly template: k8s.V1PodTemplateSpec | undefined;
}

const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';

/** The revision a Deployment or ReplicaSet carries in its revision annotation (0 when absent). */
export function deploymentRevision(o: { metadata?: { annotations?: Record<string, string> } }): number {
  return Number(o.metadata?.annotations?.[DEPLOYMENT_REVISION] ?? 0);
}

/**
 * The pod template a ControllerRevision holds: its data is the template as a strategic patch that
 * replaces it (`$patch: replace`), which is dropped here. A copy; undefined without one.
 */
export function revisionTemplate(data: unknown): k8s.V1PodTemplateSpec | undefined {
  const template = structuredClone(
    (data as { spec?: { template?: k8s.V1PodTemplateSpec & { $patch?: string } } } | undefined)?.spec
      ?.template,
  );
  if (template) delete template.$patch;
  return template;
}

/**
 * The revisions of a workload's pod template, newest first, as `kubectl rollout history` lists
 * them: a Deployment's ReplicaSets (revision annotation), a StatefulSet's or DaemonSet's
 * ControllerRevisions (whose data is the template as a patch that replaces it). Only those the
 * workload controls, found through its selector.
 */
export async function templateRevisions(
  kube: KubeClients,
  kind: string,
  w: Workload,
): Promise<TemplateRevision[]> {
  const namespace = w.metadata?.namespace ?? 'default';
  const labelSelector = matchLabelsSelector(w.spec?.selector.matchLabels);
  const mine = (o: { metadata?: k8s.V1ObjectMeta }) =>
    o.metadata?.ownerReferences?.some((r) => r.controller && r.uid === w.metadata?.uid) ?? false;
  let out: TemplateRevision[];
  if (kind === 'Deployment') {
    const sets = (await kube.apps.listNamespacedReplicaSet({ namespace, labelSelector })).items;
    out = sets.filter(mine).map((rs) => {
      const template = structuredClone(rs.spec?.template);
      if (template?.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
      return { name: rs.metadata?.name ?? '', revision: deploymentRevision(rs), template };
    });
  } else if (kind === 'StatefulSet' || kind === 'DaemonSet') {
    const revisions = (await kube.apps.listNamespacedControllerRevision({ namespace, labelSelector })).items;
    out = revisions.filter(mine).map((r) => ({
      name: r.metadata?.name ?? '',
      revision: Number(r.revision),
      template: revisionTemplate(r.data),
    }));
  } else out = [];
  return out.sort((a, b) => b.revision - a.revision);
}
