import type * as k8s from '@kubernetes/client-node';
import type { ActionSpec, ObjectRef } from '../../shared/contracts/index.js';
import { apiFailure, statusOf, type KubeClients } from '../../shared/kube/index.js';
import { describeRef, getIncident } from '../../shared/kube/incidents.js';
import { matchLabelsSelector } from '../../shared/kube/workloads.js';
import { parseQuantity } from '../../shared/quantity/index.js';

/** An action waiting for its verification window to pass. */
export interface PendingVerification {
  readonly incidentId: string;
  readonly decisionId: string;
  readonly action: ActionSpec;
  readonly actedAt: number;
  readonly verifyAt: number;
  /** Workloads whose health says whether the action worked. */
  readonly verify: ObjectRef[];
}

export interface VerifyResult {
  readonly resolved: boolean;
  readonly message: string;
}

/** Container states that mean a pod is not going to serve. */
const BAD_WAITING = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'InvalidImageName',
]);

/** Anomalies still joining the incident this late in the window mean the symptom persists. */
const SETTLE_SHARE = 0.6;

function podProblems(pods: readonly k8s.V1Pod[], since: number): string[] {
  const problems: string[] = [];
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp) continue;
    const name = p.metadata?.name ?? '';
    if (p.status?.phase === 'Pending' && !p.spec?.nodeName) problems.push(`${name} is unschedulable`);
    for (const c of p.status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting?.reason;
      if (waiting && BAD_WAITING.has(waiting)) problems.push(`${name} ${waiting}`);
      const last = c.lastState?.terminated;
      const finished = Date.parse(String(last?.finishedAt ?? ''));
      if (last && Number.isFinite(finished) && finished > since)
        problems.push(`${name} ${last.reason ?? 'terminated'} since the action`);
    }
  }
  return problems;
}

interface Rollout {
  desired: number;
  ready: number;
  updated: number;
  labels: Record<string, string> | undefined;
  stalled?: string;
}

async function deploymentRollout(kube: KubeClients, namespace: string, name: string): Promise<Rollout> {
  const d = await kube.apps.readNamespacedDeployment({ namespace, name });
  const stalled = d.status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False');
  return {
    desired: d.spec?.replicas ?? 1,
    ready: d.status?.readyReplicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    labels: d.spec?.selector.matchLabels,
    ...(stalled ? { stalled: stalled.reason ?? 'Progressing=False' } : {}),
  };
}

async function statefulSetRollout(kube: KubeClients, namespace: string, name: string): Promise<Rollout> {
  const s = await kube.apps.readNamespacedStatefulSet({ namespace, name });
  const desired = s.spec?.replicas ?? 1;
  return {
    desired,
    ready: s.status?.readyReplicas ?? 0,
    updated: s.status?.updatedReplicas ?? desired,
    labels: s.spec?.selector.matchLabels,
  };
}

async function daemonSetRollout(kube: KubeClients, namespace: string, name: string): Promise<Rollout> {
  const s = await kube.apps.readNamespacedDaemonSet({ namespace, name });
  const desired = s.status?.desiredNumberScheduled ?? 0;
  return {
    desired,
    ready: s.status?.numberReady ?? 0,
    updated: s.status?.updatedNumberScheduled ?? desired,
    labels: s.spec?.selector.matchLabels,
  };
}

const ROLLOUT_READERS: Record<string, typeof deploymentRollout> = {
  Deployment: deploymentRollout,
  StatefulSet: statefulSetRollout,
  DaemonSet: daemonSetRollout,
};

async function workloadHealth(kube: KubeClients, ref: ObjectRef, since: number): Promise<string[]> {
  const reader = ROLLOUT_READERS[ref.kind];
  if (!reader) return [];
  const r = await reader(kube, ref.namespace ?? 'default', ref.name);
  const problems: string[] = [];
  if (r.stalled) problems.push(`rollout stalled (${r.stalled})`);
  if (r.ready < r.desired) problems.push(`${r.ready}/${r.desired} replicas ready`);
  if (r.updated < r.desired) problems.push(`${r.updated}/${r.desired} replicas updated`);
  const sel = matchLabelsSelector(r.labels);
  if (sel) {
    const namespace = ref.namespace ?? 'default';
    const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: sel })).items;
    problems.push(...podProblems(pods, since));
  }
  return problems.map((p) => `${describeRef(ref)}: ${p}`);
}

/** A claim whose volume has not reached its requested size yet (the resize is pending or failed). */
async function resizeProblems(kube: KubeClients, ref: ObjectRef): Promise<string[]> {
  const pvc = await kube.core.readNamespacedPersistentVolumeClaim({
    namespace: ref.namespace ?? 'default',
    name: ref.name,
  });
  const requested = pvc.spec?.resources?.requests?.['storage'];
  const capacity = pvc.status?.capacity?.['storage'];
  if ((parseQuantity(capacity) ?? 0) >= (parseQuantity(requested) ?? Infinity)) return [];
  const pending = pvc.status?.conditions?.find((c) => c.status === 'True')?.type;
  return [
    `${describeRef(ref)}: capacity ${capacity ?? 'unknown'} has not reached the requested ${requested ?? '?'}${pending ? ` (${pending})` : ''}`,
  ];
}

/**
 * Check an action's outcome against fresh signals: the workloads it concerned are ready, rolled
 * out and not crashing since the action, a cordoned node stayed cordoned, and the incident stopped
 * collecting anomalies.
 */
export async function verify(kube: KubeClients, v: PendingVerification): Promise<VerifyResult> {
  const problems: string[] = [];
  try {
    for (const ref of v.verify) {
      try {
        problems.push(...(await workloadHealth(kube, ref, v.actedAt)));
      } catch (error) {
        if (statusOf(error) === 404) problems.push(`${describeRef(ref)} is gone`);
        else throw error;
      }
    }
    if (v.action.type === 'expandVolume') problems.push(...(await resizeProblems(kube, v.action.target)));
    if (['cordonNode', 'moveOffNode', 'drainNode'].includes(v.action.type)) {
      const node = await kube.core.readNode({ name: v.action.target.name });
      if (!node.spec?.unschedulable) problems.push(`Node ${v.action.target.name} is schedulable again`);
    }
  } catch (error) {
    throw apiFailure('verifying an action', error);
  }
  const incident = await getIncident(kube, v.incidentId);
  const lastSeen = Date.parse(incident?.status?.lastSeenAt ?? '');
  const settleBy = v.actedAt + SETTLE_SHARE * (v.verifyAt - v.actedAt);
  if (Number.isFinite(lastSeen) && lastSeen > settleBy)
    problems.push(
      `anomalies still joined the incident ${Math.round((lastSeen - v.actedAt) / 1000)}s after the action`,
    );
  return problems.length === 0
    ? {
        resolved: true,
        message: `healthy ${Math.round((v.verifyAt - v.actedAt) / 1000)}s after ${v.action.type}`,
      }
    : { resolved: false, message: problems.slice(0, 5).join('; ') };
}
