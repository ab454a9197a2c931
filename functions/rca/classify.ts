import type { ActionSpec, AnomalyData, FaultClass, ObjectRef } from '../../shared/contracts/index.js';
import type { Change } from './changes.js';

/** Evidence about the root cause, as the classifier reads it. */
export interface ClassifyInput {
  readonly root: ObjectRef;
  /** Anomalies on the root, its pods and its services. */
  readonly own: readonly AnomalyData[];
  /** Every anomaly of the incident. */
  readonly all: readonly AnomalyData[];
  readonly change: Change | undefined;
  /** Whether the root workload's containers have CPU limits. */
  readonly cpuLimited?: boolean;
  /** Whether the root workload's containers have memory limits. */
  readonly memoryLimited?: boolean | undefined;
  /** How many workloads' CPU rose above their baselines in this incident. */
  readonly cpuRisingWorkloads?: number;
  /** Whether a pod of the root workload uses (nearly) all of its CPU limit: it is being throttled. */
  readonly cpuSaturated?: boolean;
  /** The root is a pod without a CPU limit taking most of a saturated node the incident's pods share. */
  readonly starvesNode?: boolean;
  /** Every CPU deviation of the root's pods stays within its container's CPU request. */
  readonly cpuWithinRequests?: boolean;
  /**
   * How many times the requests to the root's Services rose since the onset (their rate since over
   * their usual rate before); undefined without request metrics.
   */
  readonly demandRise?: number | undefined;
  /**
   * The root is a DaemonSet whose template now fits no node (its controller wants 0 pods: its node
   * affinity or selector matches none). Kubernetes reports no FailedScheduling for it: its pods
   * are simply removed.
   */
  readonly placesNoPod?: boolean;
}

const scaledToZero = (change: Change | undefined) =>
  change?.kind === 'scale' && change.replicas?.to === 0 && change.replicas.from > 0;

/** CPU rising on this many workloads at once, with nothing failing, is load (more requests). */
export const LOAD_WIDE_WORKLOADS = 3;

/** Requests to a workload's Services rising at least this many times is a surge of demand. */
export const DEMAND_RISE = 1.5;
/**
 * CPU per request may grow this much under load (queueing, garbage collection) before a rise is
 * more than the demand explains.
 */
const CPU_PER_REQUEST_SLACK = 1.5;

/**
 * The root's CPU rose with the requests it serves: its Services' demand rose at least DEMAND_RISE
 * times, and no pod's CPU rose more than that (with CPU_PER_REQUEST_SLACK) over its baseline. A
 * runaway burns CPU without more requests; one during a surge outgrows it.
 */
export function cpuFollowsDemand(own: readonly AnomalyData[], demandRise: number | undefined): boolean {
  if (demandRise === undefined || !(demandRise >= DEMAND_RISE)) return false;
  const cpu = own.filter((a) => a.signal === 'cpu_usage_cores' && a.entity.kind === 'Pod');
  return (
    cpu.length > 0 &&
    cpu.every(
      (a) =>
        a.value !== undefined &&
        a.baseline !== undefined &&
        a.value <= a.baseline.level * demandRise * CPU_PER_REQUEST_SLACK,
    )
  );
}

/** More requests: CPU rising together on several workloads, or with the root's own demand. */
export const moreRequests = (input: ClassifyInput) =>
  (input.cpuRisingWorkloads ?? 0) >= LOAD_WIDE_WORKLOADS || cpuFollowsDemand(input.own, input.demandRise);

/**
 * Load, not a fault: more requests (see moreRequests), or CPU rising on one workload whose pods stay
 * within their CPU requests (busier, but within what they reserved: a runaway or a neighbour
 * without a limit goes past it), while nothing fails — no Kubernetes symptom, no service error or
 * latency, no predicted breach. Restarting pods under load would only take capacity away;
 * spreading it is the autoscaler's job.
 */
const isLoad = (input: ClassifyInput) =>
  (moreRequests(input) || input.cpuWithinRequests === true) &&
  input.all.every((a) => a.kind === 'deviation' && a.entity.kind !== 'Service');

const has = (list: readonly AnomalyData[], reason: string, message?: RegExp) =>
  list.some((a) => a.reason === reason && (!message || message.test(a.message ?? '')));
const signal = (list: readonly AnomalyData[], name: string) => list.some((a) => a.signal === name);
const STORAGE_SIGNAL = /(^|_)(fs|disk|volume|storage|ephemeral)(_|$)/i;
/**
 * A storage signal (named for a filesystem, disk, volume or storage) predicted to reach its limit,
 * or climbing far above its usual level (a container without a limit fills its node's disk).
 */
const isStorageFilling = (a: AnomalyData) =>
  STORAGE_SIGNAL.test(a.signal) && (a.kind === 'forecast' || risesAboveBaseline(a));

/** A deviation above its baseline (one without value or baseline says nothing of its direction). */
export const risesAboveBaseline = (a: AnomalyData) =>
  a.kind === 'deviation' && (a.value ?? 0) > (a.baseline?.level ?? Infinity);

const growsInMemory = (a: AnomalyData) => a.signal === 'memory_working_set_bytes' && risesAboveBaseline(a);

function classifyNode(input: ClassifyInput): FaultClass {
  const forecastOf = (signal: string) => input.own.some((a) => a.kind === 'forecast' && a.signal === signal);
  if (has(input.own, 'NodeNotReady')) return 'node-failure';
  if (has(input.own, 'DiskPressure')) return 'disk-fill';
  // Out of memory, or predicted to run out: the kubelet evicts the pods furthest over their requests
  // and its taint keeps new ones off (replacements waiting on it follow from it). Moving every pod
  // off the node would only carry the growth to the next one: named for what runs out.
  if (has(input.own, 'MemoryPressure') || forecastOf('node_memory_working_set_bytes'))
    return 'node-memory-hog';
  if (has(input.all, 'FailedScheduling', /taint|affinity|selector/i)) return 'scheduling-constraint';
  // Another node condition (PID pressure…) is a failing node; busy CPU alone is not: calling it a
  // node failure would move every pod off a healthy node.
  if (input.own.some((a) => a.kind === 'symptom')) return 'node-failure';
  // Predicted to run out of allocatable CPU: a healthy node that is filling up.
  if (forecastOf('node_cpu_usage_cores')) return 'node-cpu-hog';
  return 'unknown';
}

/**
 * What CPU says: a CPU deviation is load, a runaway, or a neighbour without a limit; a service slow
 * or failing while its pods run at their CPU limit is throttled, not a network problem (a hog there
 * since before its CPU baseline was learnt shows no CPU deviation, only its limit).
 */
function cpuFault(input: ClassifyInput): FaultClass | undefined {
  const { own } = input;
  if (input.starvesNode) return 'noisy-neighbour';
  if (signal(own, 'cpu_usage_cores')) {
    if (isLoad(input)) return 'benign';
    return input.cpuLimited === false ? 'noisy-neighbour' : 'pod-cpu-hog';
  }
  const troubled = signal(own, 'http_latency_ms') || signal(own, 'http_error_ratio');
  return input.cpuSaturated && troubled ? 'pod-cpu-hog' : undefined;
}

/**
 * Memory growing with no limit to stop it (no OOM kill, so no OOM forecast either): it grows until
 * its node runs out. Its pods evicted for memory, and their replacements waiting on the node's
 * memory-pressure taint, follow from it. A rollout is judged as a rollout.
 */
const growsUnbounded = (input: ClassifyInput) =>
  input.change?.kind !== 'rollout' &&
  !input.starvesNode &&
  input.memoryLimited === false &&
  (input.own.some(growsInMemory) || has(input.own, 'Evicted', /low on resource: memory/i));

/** Creation and scheduling failures: unambiguous, whatever else the workload shows. */
function creationFault(own: readonly AnomalyData[]): FaultClass | undefined {
  if (has(own, 'FailedCreate', /quota/i)) return 'quota-exceeded';
  if (has(own, 'FailedCreate', /maximum|minimum|must specify/i)) return 'resource-misconfiguration';
  if (has(own, 'FailedScheduling', /Insufficient/i)) return 'resource-misconfiguration';
  if (has(own, 'FailedScheduling')) return 'scheduling-constraint';
  if (has(own, 'ImagePullBackOff')) return 'image-pull';
  return undefined;
}

// Ordered: the first rule that matches names the class (creation and scheduling failures are
// unambiguous; runtime symptoms are read together with a preceding rollout).
function classifyWorkload(input: ClassifyInput): FaultClass {
  const { own } = input;
  const rollout = input.change?.kind === 'rollout';
  // Scaled to zero just before its service failed: someone's change to the workload took it away.
  if (scaledToZero(input.change) && own.some((a) => a.entity.kind === 'Service')) return 'config-change';
  if (growsUnbounded(input)) return 'pod-memory-hog';
  const created = creationFault(own);
  if (created) return created;
  if (input.placesNoPod && rollout) return 'scheduling-constraint';
  const oom = has(own, 'OOMKilled');
  if (oom && rollout) return 'resource-misconfiguration';
  if (oom || own.some((a) => a.kind === 'forecast' && a.signal === 'memory_working_set_bytes'))
    return 'pod-memory-hog';
  if (has(own, 'Evicted', /ephemeral|storage/i) || own.some(isStorageFilling)) return 'disk-fill';
  if (
    rollout &&
    (has(own, 'CrashLoopBackOff') ||
      signal(own, 'http_error_ratio') ||
      signal(own, 'http_latency_ms') ||
      has(own, 'CreateContainerConfigError'))
  )
    return 'bad-rollout';
  const cpu = cpuFault(input);
  if (cpu) return cpu;
  if (signal(own, 'http_latency_ms')) return 'pod-network-latency';
  if (has(own, 'CrashLoopBackOff')) return 'container-kill';
  return 'unknown';
}

/** The fault class the evidence points to (named after LitmusChaos experiments where one fits). */
export function classifyFault(input: ClassifyInput): FaultClass {
  switch (input.root.kind) {
    case 'Node':
      return classifyNode(input);
    case 'ConfigMap':
    case 'Secret':
      return 'config-change';
    case 'PersistentVolumeClaim':
      // A claim's only signals are its volume's: it is the cause when it fills up.
      return 'disk-fill';
    case 'Service':
      // Named only when nothing behind it could be (it selects no pod and no workload's template):
      // what fails there is not known.
      return 'unknown';
    default:
      return classifyWorkload(input);
  }
}

/** The workload a ConfigMap/Secret configures, when rolling it back is the way out of a config change. */
export interface ActionContext {
  readonly root: ObjectRef;
  /** For config changes: the workload reading the config. */
  readonly consumer?: ObjectRef;
  readonly rollout: boolean;
  /**
   * More requests (CPU rose on several workloads at once, or with the root's demand): restarting
   * would only cut capacity.
   */
  readonly load?: boolean;
  /** Whether the root workload's containers have memory limits. */
  readonly memoryLimited?: boolean | undefined;
  /** The change that preceded the onset on the root (a workload scaled to zero is scaled back). */
  readonly change?: Change;
}

const action = (
  type: ActionSpec['type'],
  target: ObjectRef,
  reason: string,
  params: ActionSpec['params'] = {},
): ActionSpec => ({ type, target, params, reason });

/** A workload scaled to zero before its service failed: back to the replicas it had. */
function scaleBack(root: ObjectRef, change: Change): ActionSpec[] {
  const from = change.replicas?.from ?? 1;
  return [
    action('scaleWorkload', root, `scale back to the ${from} replicas it had before it was scaled to 0`, {
      delta: from,
    }),
    action('notify', root, `${change.description}: find out who scaled it down and why`),
  ];
}

/**
 * A ResourceQuota used up. Without a rollout to undo (the quota was used up by a scale-up, or
 * lowered), any change kurative could make to the workload (its limits, its replicas) fights
 * someone's decision: a human is told what happened.
 */
function quotaActions(ctx: ActionContext): ActionSpec[] {
  const { root } = ctx;
  if (!ctx.rollout)
    return [
      action(
        'notify',
        root,
        ctx.change?.kind === 'scale'
          ? `${ctx.change.description}, beyond the namespace's ResourceQuota: raise the quota or scale back`
          : "the namespace's ResourceQuota is used up: raise it or free room in the namespace",
      ),
    ];
  return [
    action('rollbackDeployment', root, "the rollout asks for more than the namespace's ResourceQuota allows"),
    action('notify', root, 'review the quota and the requests'),
  ];
}

/** Recommended actions for a fault class, in the order to try them. */
export function recommendActions(faultClass: FaultClass, ctx: ActionContext): ActionSpec[] {
  const a = action;
  const { root } = ctx;
  switch (faultClass) {
    case 'pod-memory-hog':
      // Without a limit there is none to raise, and a restart only postpones the growth: measured on
      // unlimited-memory-leak, restarting at detection cost more degraded time than the kubelet's one
      // eviction when the node ran out. A human sets the limit or fixes the leak.
      if (ctx.memoryLimited === false)
        return [
          a(
            'notify',
            root,
            'its memory grows with no limit: set one (a leak is then OOM-killed in its own container instead of pressing its node) or fix the leak; the kubelet evicts it when the node runs out',
          ),
        ];
      return [
        a('adjustResources', root, 'raise the memory limit within bounds to buy time before the OOM kill', {
          resource: 'memory',
          factor: 1.5,
        }),
        a('restartPod', root, 'restart the leaking pods one at a time, honouring the PodDisruptionBudget'),
      ];
    case 'bad-rollout':
    case 'image-pull':
      return [
        a(
          'rollbackDeployment',
          root,
          'the failure started with the latest rollout: return to the previous revision',
        ),
      ];
    case 'quota-exceeded':
      return quotaActions(ctx);
    case 'resource-misconfiguration':
      return ctx.rollout
        ? [
            a(
              'rollbackDeployment',
              root,
              'the rollout introduced resource settings the cluster refuses or the process cannot run with',
            ),
            a('notify', root, 'fix the resource settings in the manifest'),
          ]
        : [
            a(
              'adjustResources',
              root,
              'bring requests/limits within what the process needs and the namespace allows',
            ),
            a('notify', root, 'review quota and limits'),
          ];
    case 'scheduling-constraint':
      return ctx.rollout
        ? [a('rollbackDeployment', root, 'the rollout added a placement constraint no node satisfies')]
        : [a('notify', root, 'a node change (taint, label) left pods unschedulable: a human must decide')];
    case 'config-change':
      if (ctx.change && scaledToZero(ctx.change)) return scaleBack(root, ctx.change);
      return [
        ...(ctx.consumer
          ? [
              a(
                'rollbackDeployment',
                ctx.consumer,
                'stop the rollout of pods that read the broken configuration',
              ),
            ]
          : []),
        a('notify', root, 'revert the configuration change'),
      ];
    case 'node-failure':
      return [
        a(
          'moveOffNode',
          root,
          'cordon the node and evict its pods so they run elsewhere now, not after the 5-minute eviction timeout',
        ),
        a('cordonNode', root, 'keep new pods off the node'),
      ];
    case 'noisy-neighbour':
      return [
        a('adjustResources', root, 'cap the neighbour with a CPU limit', { resource: 'cpu' }),
        a('evictPod', root, 'move the neighbour to another node'),
      ];
    case 'pod-cpu-hog':
      if (ctx.load)
        return [
          a('scaleWorkload', root, 'add replicas: CPU rose with more requests, not with a runaway', {
            delta: 1,
          }),
          a('notify', root, 'the service is overloaded: add capacity or shed load'),
        ];
      return [
        a('restartPod', root, 'restart the runaway pods one at a time'),
        a('scaleWorkload', root, 'add replicas to spread the load', { delta: 1 }),
      ];
    case 'pod-network-latency':
      return [
        a('restartPod', root, 'restart the pods with degraded networking'),
        a('notify', root, 'check the network path to this service'),
      ];
    case 'disk-fill':
      if (root.kind === 'PersistentVolumeClaim')
        return [
          a(
            'expandVolume',
            root,
            'grow the claim before its volume is full (online, if its StorageClass allows)',
            {
              factor: 1.5,
            },
          ),
          a('notify', root, 'the volume is filling up: find what writes to it, or free space on it'),
        ];
      return [
        a('restartPod', root, 'restart the pods to clear their ephemeral storage'),
        a('notify', root, 'find what fills the disk'),
      ];
    case 'node-cpu-hog':
    case 'node-memory-hog':
      // Nothing automatic: which pods to move or cap, or whether to add nodes, is a human's call.
      return [
        a(
          'notify',
          root,
          `the node runs or is predicted to run out of allocatable ${faultClass === 'node-cpu-hog' ? 'CPU' : 'memory'}: find the pods whose usage grows, or add capacity`,
        ),
      ];
    case 'benign':
      return [];
    default:
      return [a('notify', root, 'no safe automatic action is known for this fault')];
  }
}
