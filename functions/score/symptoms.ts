import type { AnomalyData, KubeObjectData, ObjectRef, Severity } from '../../shared/contracts/index.js';

/** A Kubernetes symptom found in an event or object (before de-duplication). */
export interface Symptom {
  readonly entity: ObjectRef;
  readonly reason: string;
  readonly severity: Severity;
  readonly message: string;
  readonly at: string;
}

const EVENT_SYMPTOMS: { reason: RegExp; message?: RegExp; symptom: string; severity: Severity }[] = [
  { reason: /^(OOMKilling|OOMKilled)$/, symptom: 'OOMKilled', severity: 'critical' },
  {
    reason: /^BackOff$/,
    message: /restarting failed container/i,
    symptom: 'CrashLoopBackOff',
    severity: 'critical',
  },
  {
    reason: /^(BackOff|Failed|ErrImagePull)$/,
    message: /pull/i,
    symptom: 'ImagePullBackOff',
    severity: 'warning',
  },
  { reason: /^Unhealthy$/, symptom: 'ProbeFailure', severity: 'warning' },
  { reason: /^FailedScheduling$/, symptom: 'FailedScheduling', severity: 'warning' },
  { reason: /^FailedCreate$/, symptom: 'FailedCreate', severity: 'warning' },
  { reason: /^(Evicted|TaintManagerEviction)$/, symptom: 'Evicted', severity: 'warning' },
  { reason: /^NodeNotReady$/, symptom: 'NodeNotReady', severity: 'critical' },
  { reason: /^Failed$/, message: /config/i, symptom: 'CreateContainerConfigError', severity: 'critical' },
];

const WAITING_SYMPTOMS: Record<string, Severity> = {
  CrashLoopBackOff: 'critical',
  ImagePullBackOff: 'warning',
  ErrImagePull: 'warning',
  CreateContainerConfigError: 'critical',
  CreateContainerError: 'critical',
};

type Obj = Record<string, unknown>;
const get = (o: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Obj)[k] : undefined), o);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function refOf(o: unknown): ObjectRef | undefined {
  const kind = str(get(o, 'kind'));
  const name = str(get(o, 'name'));
  if (!kind || !name) return undefined;
  const namespace = str(get(o, 'namespace'));
  const uid = str(get(o, 'uid'));
  const apiVersion = str(get(o, 'apiVersion'));
  return {
    kind,
    name,
    ...(namespace ? { namespace } : {}),
    ...(uid ? { uid } : {}),
    ...(apiVersion ? { apiVersion } : {}),
  };
}

/** Symptoms in one ApiServerSource object: an Event's reason, a Pod's container states, a Node's conditions. */
export function symptomsOf(object: KubeObjectData, fallbackTime: string): Symptom[] {
  const kind = object.kind;
  if (kind === 'Event') return eventSymptoms(object, fallbackTime);
  if (kind === 'Pod') return podSymptoms(object, fallbackTime);
  if (kind === 'Node') return nodeSymptoms(object, fallbackTime);
  return [];
}

function eventSymptoms(e: KubeObjectData, fallbackTime: string): Symptom[] {
  const reason = str(get(e, 'reason'));
  const message = str(get(e, 'message')) || str(get(e, 'note'));
  const entity = refOf(get(e, 'involvedObject') ?? get(e, 'regarding'));
  if (!entity) return [];
  const rule = EVENT_SYMPTOMS.find((r) => r.reason.test(reason) && (!r.message || r.message.test(message)));
  if (!rule) return [];
  if (rule.symptom !== 'NodeNotReady' && str(get(e, 'type')) !== 'Warning' && rule.symptom !== 'Evicted')
    return [];
  const at = str(get(e, 'lastTimestamp')) || str(get(e, 'eventTime')) || fallbackTime;
  return [
    {
      entity,
      reason: rule.symptom,
      severity: rule.severity,
      message: `${reason}: ${message}`.slice(0, 500),
      at,
    },
  ];
}

function podSymptoms(pod: KubeObjectData, fallbackTime: string): Symptom[] {
  const entity: ObjectRef = {
    kind: 'Pod',
    name: pod.metadata.name,
    ...(pod.metadata.namespace ? { namespace: pod.metadata.namespace } : {}),
    ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
  };
  const out: Symptom[] = [];
  const statuses = (get(pod, 'status.containerStatuses') as Obj[] | undefined) ?? [];
  for (const c of statuses) {
    const container = str(c['name']);
    const waiting = str(get(c, 'state.waiting.reason'));
    const severity = WAITING_SYMPTOMS[waiting];
    if (severity)
      out.push({
        entity: { ...entity, container },
        reason: waiting === 'ErrImagePull' ? 'ImagePullBackOff' : waiting,
        severity,
        message: str(get(c, 'state.waiting.message')).slice(0, 500) || waiting,
        at: fallbackTime,
      });
    if (str(get(c, 'lastState.terminated.reason')) === 'OOMKilled') {
      out.push({
        entity: { ...entity, container },
        reason: 'OOMKilled',
        severity: 'critical',
        message: `container ${container} was OOM-killed (restarts: ${typeof c['restartCount'] === 'number' ? c['restartCount'] : 0})`,
        at: str(get(c, 'lastState.terminated.finishedAt')) || fallbackTime,
      });
    }
  }
  return out;
}

function nodeSymptoms(node: KubeObjectData, fallbackTime: string): Symptom[] {
  const entity: ObjectRef = {
    kind: 'Node',
    name: node.metadata.name,
    ...(node.metadata.uid ? { uid: node.metadata.uid } : {}),
  };
  const out: Symptom[] = [];
  for (const c of (get(node, 'status.conditions') as Obj[] | undefined) ?? []) {
    const type = str(c['type']);
    const status = str(c['status']);
    const at = str(c['lastTransitionTime']) || fallbackTime;
    if (type === 'Ready' && status !== 'True')
      out.push({
        entity,
        reason: 'NodeNotReady',
        severity: 'critical',
        message: str(c['message']) || `Ready=${status}`,
        at,
      });
    if (['MemoryPressure', 'DiskPressure', 'PIDPressure'].includes(type) && status === 'True')
      out.push({ entity, reason: type, severity: 'warning', message: str(c['message']) || type, at });
  }
  return out;
}

/** The anomaly a symptom becomes. */
export function symptomAnomaly(
  s: Symptom,
  anomalyId: string,
  observedAt: string,
  onset: string,
): AnomalyData {
  return {
    anomalyId,
    entity: s.entity,
    signal: `k8s:${s.reason}`,
    kind: 'symptom',
    detector: 'builtin-k8s-symptoms',
    score: 1,
    threshold: 1,
    severity: s.severity,
    onset,
    observedAt,
    reason: s.reason,
    message: s.message,
  };
}
