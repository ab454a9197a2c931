import type { ActionSpec, RemediationPolicySpec } from '../../shared/contracts/index.js';
import { formatQuantity, parseQuantity } from '../../shared/quantity/index.js';
import { WORKLOAD_KINDS } from '../../shared/kube/workloads.js';

/** What policy knows about the object an action names. */
export interface TargetFacts {
  readonly kind: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Desired replicas of the workload (or of the pod's owner). */
  readonly replicas?: number;
  readonly containers?: readonly {
    name: string;
    limits: Readonly<Record<string, number>>;
    requests: Readonly<Record<string, number>>;
  }[];
  /** Any of the workload's pods carries the opt-out label. */
  readonly podsOptedOut?: boolean;
  /** Pod template revisions kept (ReplicaSets, ControllerRevisions); a rollback needs at least two. */
  readonly revisions?: number;
  /** The HorizontalPodAutoscaler that owns the replica count, if any. */
  readonly autoscaler?: string;
  /** A PersistentVolumeClaim: its requested size and whether its StorageClass allows expansion. */
  readonly volume?: {
    readonly requested: number;
    readonly storageClass: string;
    readonly expandable: boolean;
  };
}

export type Bounded =
  { ok: true; action: ActionSpec; note?: string } | { ok: false; rule: string; reason: string };

const deny = (rule: string, reason: string): Bounded => ({ ok: false, rule, reason });

/** Round a new limit to what a human would write: whole MiB, whole millicores. */
function roundQuantity(resource: string, v: number): number {
  return resource === 'memory' ? Math.floor(v / 2 ** 20) * 2 ** 20 : Math.floor(v * 1000) / 1000;
}

/**
 * One container's new limit: with a limit, grow it by `factor`; without one (a noisy neighbour),
 * cap it at maxFactor × its request. Never above the cap, never a shrink.
 */
function containerChange(
  c: NonNullable<TargetFacts['containers']>[number],
  resource: string,
  factor: number,
  maxFactor: number,
  cap: number,
): { from: number; to: number } | undefined {
  const limit = c.limits[resource];
  const request = c.requests[resource];
  const from = limit ?? 0;
  const base = limit ?? request;
  if (base === undefined || base <= 0) return undefined;
  const to = roundQuantity(resource, Math.min(base * (limit === undefined ? maxFactor : factor), cap));
  if (to <= from || (limit === undefined && to < (request ?? 0))) return undefined;
  return { from, to };
}

/** The growth an action asks for (1.5 unless it names a larger one), never above maxFactor. */
function growthFactor(action: ActionSpec, maxFactor: number): number {
  const wanted = Number(action.params['factor'] ?? 1.5);
  return Math.min(Number.isFinite(wanted) && wanted > 1 ? wanted : 1.5, maxFactor);
}

function planResources(
  action: ActionSpec,
  spec: RemediationPolicySpec,
  facts: TargetFacts | undefined,
): Bounded {
  const bounds = spec.actions.adjustResources;
  if (!bounds) return deny('action-not-allowed', 'adjustResources is not configured');
  const resource = String(action.params['resource'] ?? 'memory');
  if (resource !== 'memory' && resource !== 'cpu')
    return deny('unsupported-action', `cannot adjust ${resource}`);
  const containers = facts?.containers ?? [];
  if (containers.length === 0) return deny('unsupported-target', 'the target has no containers to adjust');
  const cap = parseQuantity(resource === 'memory' ? bounds.maxMemory : bounds.maxCpu) ?? 0;
  const factor = growthFactor(action, bounds.maxFactor);
  const params: ActionSpec['params'] = { resource };
  const notes: string[] = [];
  for (const c of containers) {
    const change = containerChange(c, resource, factor, bounds.maxFactor, cap);
    if (!change) continue;
    params[`${c.name}.limits.${resource}`] = change.to;
    params[`${c.name}.limits.${resource}.from`] = change.from;
    notes.push(
      `${c.name} ${resource} limit ${change.from ? formatQuantity(resource, change.from) : 'none'} → ${formatQuantity(resource, change.to)}`,
    );
  }
  if (notes.length === 0)
    return deny(
      'bounds',
      `no container's ${resource} limit can change within maxFactor ${bounds.maxFactor} and cap ${resource === 'memory' ? bounds.maxMemory : bounds.maxCpu}`,
    );
  return { ok: true, action: { ...action, params }, note: notes.join(', ') };
}

/** Volume sizes are rounded up to whole GiB (what a human would write, and what provisioners allocate). */
const GI = 2 ** 30;

/** A claim's new size: `factor` × its request, in whole GiB, within maxFactor and the cap; never a shrink. */
function planVolume(
  action: ActionSpec,
  spec: RemediationPolicySpec,
  facts: TargetFacts | undefined,
): Bounded {
  const bounds = spec.actions.expandVolume;
  if (!bounds) return deny('action-not-allowed', 'expandVolume is not configured');
  const volume = facts?.volume;
  if (action.target.kind !== 'PersistentVolumeClaim' || !volume)
    return deny('unsupported-target', 'only a PersistentVolumeClaim can be expanded');
  if (!volume.expandable)
    return deny(
      'unsupported-target',
      `StorageClass ${volume.storageClass || '(none)'} of ${action.target.name} does not allow volume expansion`,
    );
  const factor = growthFactor(action, bounds.maxFactor);
  const cap = Math.min(parseQuantity(bounds.maxSize) ?? 0, volume.requested * bounds.maxFactor);
  // Whole GiB up, unless that passes a bound: then the bound, in whole MiB down.
  const up = Math.ceil((volume.requested * factor) / GI) * GI;
  const to = up <= cap ? up : Math.floor(cap / 2 ** 20) * 2 ** 20;
  if (!(to > volume.requested))
    return deny(
      'bounds',
      `${action.target.name} cannot grow within maxFactor ${bounds.maxFactor} and maxSize ${bounds.maxSize}`,
    );
  return {
    ok: true,
    action: { ...action, params: { storage: to, from: volume.requested } },
    note: `storage ${formatQuantity('storage', volume.requested)} → ${formatQuantity('storage', to)}`,
  };
}

function planScale(action: ActionSpec, spec: RemediationPolicySpec, facts: TargetFacts | undefined): Bounded {
  const bounds = spec.actions.scaleWorkload;
  if (!bounds) return deny('action-not-allowed', 'scaleWorkload is not configured');
  const current = facts?.replicas;
  if (current === undefined) return deny('unsupported-target', `${action.target.kind} cannot be scaled`);
  // Scaling against an autoscaler is undone at its next sync: leave replicas to it.
  if (facts?.autoscaler)
    return deny(
      'autoscaled',
      `HorizontalPodAutoscaler ${facts.autoscaler} manages the replicas of ${action.target.name}`,
    );
  const delta = Number(action.params['delta'] ?? 1);
  const step = Math.sign(delta) * Math.min(Math.abs(Math.trunc(delta)) || 1, bounds.maxStep);
  const to = Math.max(bounds.minReplicas, Math.min(bounds.maxReplicas, current + step));
  if (to === current)
    return deny(
      'bounds',
      `already at ${current} replicas (allowed ${bounds.minReplicas}–${bounds.maxReplicas})`,
    );
  return {
    ok: true,
    action: { ...action, params: { replicas: to, from: current } },
    note: `${current} → ${to} replicas`,
  };
}

function planPods(action: ActionSpec, share: number, facts: TargetFacts | undefined): Bounded {
  const replicas = facts?.replicas ?? 1;
  const maxPods = Math.floor(share * replicas + 1e-9);
  if (maxPods < 1)
    return deny('blast-radius', `disrupting one of ${replicas} replicas exceeds maxDisruptedShare ${share}`);
  const wanted = Number(action.params['maxPods'] ?? maxPods);
  const n = Math.max(1, Math.min(maxPods, Number.isFinite(wanted) ? Math.trunc(wanted) : maxPods));
  return {
    ok: true,
    action: { ...action, params: { ...action.params, maxPods: n } },
    note: `at most ${n} of ${replicas} pods at once`,
  };
}

function planNodes(
  action: ActionSpec,
  maxNodes: number,
  facts: { cordonedNodes: readonly string[]; schedulableNodes?: readonly string[] | undefined },
): Bounded {
  if (action.target.kind !== 'Node') return deny('unsupported-target', `${action.type} needs a Node target`);
  const elsewhere = facts.schedulableNodes?.filter((n) => n !== action.target.name);
  // Emptying a node only helps when its pods have somewhere else to run.
  if (action.type !== 'cordonNode' && elsewhere !== undefined && elsewhere.length === 0)
    return deny(
      'no-capacity-elsewhere',
      `no other Ready, schedulable node would take the pods of ${action.target.name}`,
    );
  const others = facts.cordonedNodes.filter((n) => n !== action.target.name);
  if (others.length + 1 > maxNodes)
    return deny(
      'blast-radius-nodes',
      `${others.length} node(s) already cordoned (${others.join(', ') || '-'}); maxNodes is ${maxNodes}`,
    );
  return { ok: true, action, note: `${others.length + 1} of at most ${maxNodes} node(s) cordoned` };
}

/**
 * Turn a recommended action into the exact change act will make, inside the policy's bounds: the
 * new limits (≤ maxFactor × current and ≤ the cap), a claim's new size (likewise), the new replica
 * count (within min/max and maxStep), how many pods may be disrupted at once, whether another node may be cordoned.
 */
export function planBounds(
  action: ActionSpec,
  spec: RemediationPolicySpec,
  facts: {
    target: TargetFacts | undefined;
    cordonedNodes: readonly string[];
    schedulableNodes?: readonly string[] | undefined;
  },
): Bounded {
  const a = spec.actions;
  switch (action.type) {
    case 'adjustResources':
      return planResources(action, spec, facts.target);
    case 'scaleWorkload':
      return planScale(action, spec, facts.target);
    case 'expandVolume':
      return planVolume(action, spec, facts.target);
    case 'restartPod':
      return planPods(action, a.restartPod?.maxDisruptedShare ?? 0, facts.target);
    case 'evictPod':
      return planPods(action, a.evictPod?.maxDisruptedShare ?? 0, facts.target);
    case 'cordonNode':
      return planNodes(action, a.cordonNode?.maxNodes ?? 0, facts);
    case 'moveOffNode':
      return planNodes(action, a.moveOffNode?.maxNodes ?? 0, facts);
    case 'drainNode':
      return planNodes(action, a.drainNode?.maxNodes ?? 0, facts);
    case 'rollbackDeployment':
      if (!WORKLOAD_KINDS.has(action.target.kind))
        return deny('unsupported-target', 'only a Deployment, StatefulSet or DaemonSet can be rolled back');
      if ((facts.target?.revisions ?? 0) < 2)
        return deny('bounds', `the ${action.target.kind} has no previous revision to roll back to`);
      return { ok: true, action };
    default:
      return { ok: true, action };
  }
}
