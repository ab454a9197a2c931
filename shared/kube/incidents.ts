import * as k8s from '@kubernetes/client-node';
import {
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  type Condition,
  type IncidentStatus,
  type ObjectRef,
} from '../contracts/index.js';
import type { KubeClients } from './index.js';
import { unavailable } from '../runtime/errors.js';
import { apiFailure, statusOf } from './index.js';

const INCIDENTS = { group: KURATIVE_GROUP, version: KURATIVE_VERSION, plural: 'incidents' } as const;
const HISTORY_LIMIT = 40;

export interface IncidentObject {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string>; uid?: string };
  status?: Partial<IncidentStatus>;
}

export async function getIncident(kube: KubeClients, name: string): Promise<IncidentObject | undefined> {
  try {
    return (await kube.custom.getClusterCustomObject({ ...INCIDENTS, name })) as IncidentObject;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw apiFailure(`reading Incident ${name}`, error);
  }
}

/** Whether an Incident is still open (not Resolved or Escalated); one without a phase yet is. */
export function isOpenIncident(incident: IncidentObject): boolean {
  const phase = incident.status?.phase;
  return phase !== 'Resolved' && phase !== 'Escalated';
}

export async function listIncidents(kube: KubeClients): Promise<IncidentObject[]> {
  try {
    const list = (await kube.custom.listClusterCustomObject({ ...INCIDENTS })) as { items: IncidentObject[] };
    return list.items;
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw apiFailure('listing Incidents', error);
  }
}

/** What a writer wants to change on an Incident's status. */
export interface IncidentUpdate {
  readonly set?: Partial<Omit<IncidentStatus, 'history' | 'conditions'>>;
  /** Appended to status.history, prefixed with the time. */
  readonly history?: string;
  readonly condition?: Omit<Condition, 'lastTransitionTime'>;
}

function mergeCondition(
  list: Condition[],
  c: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const old = list.find((x) => x.type === c.type);
  const changed = !old || old.status !== c.status || old.reason !== c.reason;
  const next: Condition = { ...c, lastTransitionTime: changed ? now : (old?.lastTransitionTime ?? now) };
  return [...list.filter((x) => x.type !== c.type), next];
}

/**
 * Read-modify-write of an Incident's status with optimistic concurrency (resourceVersion in the
 * patch): policy and act both append to its history, so a lost race is read again, not overwritten.
 * A missing Incident is not an error (it may have been deleted by a human): returns false.
 */
export async function updateIncident(
  kube: KubeClients,
  name: string,
  update: IncidentUpdate,
  at: Date,
): Promise<boolean> {
  const now = at.toISOString();
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await getIncident(kube, name);
    if (!current) return false;
    const st = current.status ?? {};
    const status: Partial<IncidentStatus> = { ...update.set };
    if (update.history)
      status.history = [...(st.history ?? []), `${now} ${update.history}`].slice(-HISTORY_LIMIT);
    if (update.condition) status.conditions = mergeCondition(st.conditions ?? [], update.condition, now);
    try {
      await kube.custom.patchClusterCustomObjectStatus(
        {
          ...INCIDENTS,
          name,
          body: {
            metadata: { resourceVersion: current.metadata.resourceVersion },
            status,
          },
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      return true;
    } catch (error) {
      if (statusOf(error) === 409) continue;
      if (statusOf(error) === 404) return false;
      throw apiFailure(`updating Incident ${name}`, error);
    }
  }
  throw unavailable(`updating Incident ${name}: still conflicting after 5 attempts`);
}

/** The Kubernetes Event every kurative step leaves on the object it concerns. */
export async function recordKubeEvent(
  kube: KubeClients,
  target: ObjectRef,
  event: { reason: string; message: string; type: 'Normal' | 'Warning'; component: string; at: Date },
): Promise<boolean> {
  const namespace = target.namespace ?? 'default';
  try {
    await kube.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${target.name}.kurative-`, namespace },
        involvedObject: {
          kind: target.kind,
          name: target.name,
          ...(target.namespace ? { namespace: target.namespace } : {}),
          ...(target.apiVersion ? { apiVersion: target.apiVersion } : {}),
          ...(target.uid ? { uid: target.uid } : {}),
        },
        reason: event.reason,
        message: event.message.slice(0, 1000),
        type: event.type,
        source: { component: event.component },
        reportingComponent: event.component,
        firstTimestamp: event.at,
        lastTimestamp: event.at,
        count: 1,
      },
    });
    return true;
  } catch {
    return false;
  }
}

/** `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects). */
export function describeRef(ref: ObjectRef): string {
  return ref.namespace ? `${ref.kind}/${ref.namespace}/${ref.name}` : `${ref.kind}/${ref.name}`;
}
