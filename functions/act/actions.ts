import * as k8s from '@kubernetes/client-node';
import { REMEDIATION_ANNOTATION, type ActionSpec, type ObjectRef } from '../../shared/contracts/index.js';
import { apiFailure, apiReason, statusOf, type KubeClients } from '../../shared/kube/index.js';
import { describeRef } from '../../shared/kube/incidents.js';
import { unavailable } from '../../shared/runtime/index.js';
import {
  deploymentRevision,
  matchLabelsSelector,
  podReady,
  readWorkload,
  templateRevisions,
  WORKLOAD_KINDS,
  type Workload,
} from '../../shared/kube/workloads.js';
import { formatQuantity, parseQuantity } from '../../shared/quantity/index.js';

/** What one action did (or would do, as a dry run). */
export interface ActionResult {
  readonly status: 'succeeded' | 'failed' | 'skipped';
  readonly message: string;
  /** One line per change made, e.g. "evicted Pod shop/cart-abc". */
  readonly changes: string[];
  /** Workloads whose health tells whether the action worked. */
  readonly verify: ObjectRef[];
}

export interface ActionContext {
  readonly kube: KubeClients;
  readonly dryRun: boolean;
  readonly incidentId: string;
}

const DRY = (dryRun: boolean) => (dryRun ? { dryRun: 'All' } : {});
const STRATEGIC = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
/** A StatefulSet's pods name their revision here. */
const REVISION_HASH = 'controller-revision-hash';
const QUARANTINE_LABEL = 'kurative.dev/quarantined';

const done = (message: string, changes: string[], verify: ObjectRef[]): ActionResult => ({
  status: 'succeeded',
  message,
  changes,
  verify,
});
const failed = (message: string, changes: string[] = [], verify: ObjectRef[] = []): ActionResult => ({
  status: 'failed',
  message,
  changes,
  verify,
});
const skipped = (message: string, verify: ObjectRef[] = []): ActionResult => ({
  status: 'skipped',
  message,
  changes: [],
  verify,
});

/** The workload a target names; anything else is a programming error in the decision. */
async function workloadOf(kube: KubeClients, t: ObjectRef): Promise<Workload> {
  const w = await readWorkload(kube, t.kind, t.namespace ?? 'default', t.name);
  if (!w) throw new Error(`${t.kind} is not a workload`);
  return w;
}

/** The workload that owns a pod (through its ReplicaSet for Deployments). */
async function ownerOfPod(kube: KubeClients, pod: k8s.V1Pod): Promise<ObjectRef | undefined> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (!owner) return undefined;
  if (owner.kind === 'ReplicaSet') {
    const rs = await kube.apps.readNamespacedReplicaSet({ namespace, name: owner.name });
    const dep = rs.metadata?.ownerReferences?.find((o) => o.controller && o.kind === 'Deployment');
    return dep ? { kind: 'Deployment', namespace, name: dep.name } : undefined;
  }
  return { kind: owner.kind, namespace, name: owner.name };
}

/** The pods an action on `target` concerns: the pod itself, or the workload's pods. */
async function podsOf(kube: KubeClients, target: ObjectRef): Promise<k8s.V1Pod[]> {
  const namespace = target.namespace ?? 'default';
  if (target.kind === 'Pod') return [await kube.core.readNamespacedPod({ namespace, name: target.name })];
  const w = await workloadOf(kube, target);
  const sel = matchLabelsSelector(w.spec?.selector.matchLabels);
  if (!sel) return [];
  return (await kube.core.listNamespacedPod({ namespace, labelSelector: sel })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
}

const restartsOf = (p: k8s.V1Pod) =>
  (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);

/** Evict pods one by one through the eviction API; a PodDisruptionBudget refusal (429) stops the round. */
async function evict(
  ctx: ActionContext,
  pods: readonly k8s.V1Pod[],
  max: number,
): Promise<{ evicted: string[]; blocked: string | undefined }> {
  const evicted: string[] = [];
  for (const pod of pods.slice(0, max)) {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    try {
      await ctx.kube.core.createNamespacedPodEviction({
        name,
        namespace,
        body: {
          apiVersion: 'policy/v1',
          kind: 'Eviction',
          metadata: { name, namespace },
          ...(ctx.dryRun ? { deleteOptions: { dryRun: ['All'] } } : {}),
        },
        ...DRY(ctx.dryRun),
      });
      evicted.push(`evicted Pod ${namespace}/${name}`);
    } catch (error) {
      const code = statusOf(error);
      if (code === 429)
        return { evicted, blocked: `eviction of ${namespace}/${name} refused by a PodDisruptionBudget` };
      if (code === 404) continue;
      throw apiFailure(`evicting ${namespace}/${name}`, error);
    }
  }
  return { evicted, blocked: undefined };
}

async function restartPods(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  const max = Number(action.params['maxPods'] ?? 1);
  const pods = (await podsOf(ctx.kube, action.target)).sort(
    (a, b) =>
      restartsOf(b) - restartsOf(a) ||
      String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
  );
  if (pods.length === 0) return skipped('no pod to restart');
  const owner =
    action.target.kind === 'Pod' ? await ownerOfPod(ctx.kube, pods[0] as k8s.V1Pod) : action.target;
  const verify = owner ? [owner] : [];
  const { evicted, blocked } = await evict(ctx, pods, max);
  if (evicted.length === 0) return failed(blocked ?? 'no pod could be evicted', [], verify);
  return done(
    `${evicted.length} of ${pods.length} pod(s) evicted to be recreated (at most ${max} at once)${blocked ? `; ${blocked}` : ''}`,
    evicted,
    verify,
  );
}

async function cordon(ctx: ActionContext, node: string): Promise<string | undefined> {
  const current = await ctx.kube.core.readNode({ name: node });
  if (current.spec?.unschedulable) return undefined;
  await ctx.kube.core.patchNode(
    { name: node, body: { spec: { unschedulable: true } }, ...DRY(ctx.dryRun) },
    MERGE,
  );
  return `cordoned Node ${node}`;
}

async function offNode(ctx: ActionContext, action: ActionSpec, drain: boolean): Promise<ActionResult> {
  const node = action.target.name;
  const changes: string[] = [];
  const c = await cordon(ctx, node);
  if (c) changes.push(c);
  if (action.type === 'cordonNode') return done(c ?? `Node ${node} was already cordoned`, changes, []);
  const pods = (
    await ctx.kube.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })
  ).items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet') &&
      (drain || p.metadata?.ownerReferences?.some((o) => o.controller)),
  );
  const owners = new Map<string, ObjectRef>();
  for (const p of pods) {
    const o = await ownerOfPod(ctx.kube, p);
    if (o) owners.set(describeRef(o), o);
  }
  const { evicted, blocked } = await evict(ctx, pods, pods.length);
  changes.push(...evicted);
  const message = `${c ? 'cordoned and ' : ''}${evicted.length} of ${pods.length} pod(s) moved off ${node}${blocked ? `; ${blocked}` : ''}`;
  return blocked && evicted.length === 0 && pods.length > 0
    ? failed(message, changes, [...owners.values()])
    : done(message, changes, [...owners.values()]);
}

/** Patch a workload with a precondition on its resourceVersion; a 409 is read again and retried. */
async function patchWorkload(
  ctx: ActionContext,
  target: ObjectRef,
  body: (w: Workload) => object | string,
): Promise<string | undefined> {
  const namespace = target.namespace ?? 'default';
  for (let attempt = 0; attempt < 4; attempt++) {
    const w = await workloadOf(ctx.kube, target);
    const patch = body(w);
    if (typeof patch === 'string') return patch;
    const request = {
      name: target.name,
      namespace,
      body: { metadata: { resourceVersion: w.metadata?.resourceVersion }, ...patch },
      ...DRY(ctx.dryRun),
    };
    try {
      if (target.kind === 'Deployment') await ctx.kube.apps.patchNamespacedDeployment(request, STRATEGIC);
      else if (target.kind === 'StatefulSet')
        await ctx.kube.apps.patchNamespacedStatefulSet(request, STRATEGIC);
      else await ctx.kube.apps.patchNamespacedDaemonSet(request, STRATEGIC);
      return undefined;
    } catch (error) {
      if (statusOf(error) === 409) continue;
      throw apiFailure(`patching ${describeRef(target)}`, error);
    }
  }
  throw unavailable(`patching ${describeRef(target)}: still conflicting after 4 attempts`);
}

async function adjustResources(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  let target = action.target;
  if (target.kind === 'Pod') {
    const pod = await ctx.kube.core.readNamespacedPod({
      namespace: target.namespace ?? 'default',
      name: target.name,
    });
    const owner = await ownerOfPod(ctx.kube, pod);
    if (!owner) return failed('the pod has no owning workload to patch');
    target = owner;
  }
  const resource = String(action.params['resource'] ?? 'memory');
  const wanted = Object.entries(action.params)
    .filter(([k]) => k.endsWith(`.limits.${resource}`))
    .map(([k, v]) => ({
      container: k.slice(0, -`.limits.${resource}`.length),
      to: Number(v),
      from: Number(action.params[`${k}.from`] ?? 0),
    }));
  if (wanted.length === 0) return failed('the decision names no container limit to set');
  const changes: string[] = [];
  const refused = await patchWorkload(ctx, target, (w) => {
    changes.length = 0;
    const containers = w.spec?.template.spec?.containers ?? [];
    const patches: object[] = [];
    for (const { container, to, from } of wanted) {
      const c = containers.find((x) => x.name === container);
      if (!c) return `container ${container} is gone from ${describeRef(target)}`;
      const now = c.resources?.limits?.[resource];
      const nowValue = now === undefined ? 0 : (parseQuantity(now) ?? Number.NaN);
      if (Math.abs(nowValue - to) < 1e-9) continue;
      // Changed since the decision: applying the decided value could exceed the bounds on what is there now.
      if (Math.abs(nowValue - from) > Math.max(1e-9, from * 1e-6))
        return `the ${resource} limit of ${container} changed since the decision (${now ?? 'none'}): not applied`;
      patches.push({ name: container, resources: { limits: { [resource]: formatQuantity(resource, to) } } });
      changes.push(
        `${describeRef(target)} container ${container} ${resource} limit ${now ?? 'none'} → ${formatQuantity(resource, to)}`,
      );
    }
    if (patches.length === 0) return 'already applied';
    // The new revision says whose it is: rca must not take it for someone's rollout.
    return {
      spec: {
        template: {
          metadata: { annotations: { [REMEDIATION_ANNOTATION]: ctx.incidentId } },
          spec: { containers: patches },
        },
      },
    };
  });
  if (refused === 'already applied') return skipped('the limits already have the decided values', [target]);
  if (refused) return failed(refused, [], [target]);
  return done(changes.join('; '), changes, [target]);
}

/**
 * Raise a claim's requested size to the decided one (the CSI resizer and the kubelet then grow the
 * volume and its filesystem online). Refused when the request changed since the decision.
 */
async function expandVolume(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  const { target } = action;
  if (target.kind !== 'PersistentVolumeClaim') return failed('only a PersistentVolumeClaim can be expanded');
  const namespace = target.namespace ?? 'default';
  const to = Number(action.params['storage']);
  const from = Number(action.params['from']);
  if (!(to > 0) || !(from > 0)) return failed('the decision names no size');
  const pvc = await ctx.kube.core.readNamespacedPersistentVolumeClaim({ namespace, name: target.name });
  const now = pvc.spec?.resources?.requests?.['storage'];
  const current = parseQuantity(now) ?? Number.NaN;
  const size = formatQuantity('storage', to);
  if (current >= to) return skipped(`${describeRef(target)} already requests ${now ?? size}`, [target]);
  // Negated so that an unreadable request (NaN) counts as changed, not as the one decided on.
  if (!(Math.abs(current - from) <= 1))
    return failed(
      `the size of ${describeRef(target)} changed since the decision (${now ?? 'none'}): not applied`,
      [],
      [target],
    );
  await ctx.kube.core.patchNamespacedPersistentVolumeClaim(
    {
      name: target.name,
      namespace,
      body: { spec: { resources: { requests: { storage: size } } } },
      ...DRY(ctx.dryRun),
    },
    MERGE,
  );
  const message = `${describeRef(target)} storage request ${now ?? 'none'} → ${size}`;
  return done(message, [message], [target]);
}

async function scale(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  const { target } = action;
  const namespace = target.namespace ?? 'default';
  const to = Number(action.params['replicas']);
  const from = Number(action.params['from']);
  if (!Number.isInteger(to) || !Number.isInteger(from)) return failed('the decision names no replica count');
  if (target.kind !== 'Deployment' && target.kind !== 'StatefulSet')
    return failed(`${target.kind} cannot be scaled`);
  const read = () =>
    target.kind === 'Deployment'
      ? ctx.kube.apps.readNamespacedDeploymentScale({ namespace, name: target.name })
      : ctx.kube.apps.readNamespacedStatefulSetScale({ namespace, name: target.name });
  const current = (await read()).spec?.replicas ?? 0;
  if (current === to) return skipped(`already at ${to} replicas`, [target]);
  if (current !== from)
    return failed(`replicas changed since the decision (${from} → ${current}): not applied`, [], [target]);
  const request = { name: target.name, namespace, body: { spec: { replicas: to } }, ...DRY(ctx.dryRun) };
  if (target.kind === 'Deployment') await ctx.kube.apps.patchNamespacedDeploymentScale(request, MERGE);
  else await ctx.kube.apps.patchNamespacedStatefulSetScale(request, MERGE);
  return done(
    `scaled ${describeRef(target)} ${from} → ${to}`,
    [`scaled ${describeRef(target)} ${from} → ${to} replicas`],
    [target],
  );
}

/** Write a workload back with another pod template (a full update: a concurrent change is a 409). */
async function replaceTemplate(
  ctx: ActionContext,
  kind: string,
  w: Workload,
  template: k8s.V1PodTemplateSpec,
): Promise<void> {
  const name = w.metadata?.name ?? '';
  const namespace = w.metadata?.namespace ?? 'default';
  const common = { name, namespace, ...DRY(ctx.dryRun) };
  if (kind === 'Deployment') {
    await ctx.kube.apps.replaceNamespacedDeployment({
      ...common,
      body: { ...w, spec: { ...(w.spec as k8s.V1DeploymentSpec), template } },
    });
  } else if (kind === 'StatefulSet') {
    const s = w as k8s.V1StatefulSet;
    await ctx.kube.apps.replaceNamespacedStatefulSet({
      ...common,
      body: { ...s, spec: { ...(s.spec as k8s.V1StatefulSetSpec), template } },
    });
  } else {
    const s = w as k8s.V1DaemonSet;
    await ctx.kube.apps.replaceNamespacedDaemonSet({
      ...common,
      body: { ...s, spec: { ...(s.spec as k8s.V1DaemonSetSpec), template } },
    });
  }
}

/**
 * A StatefulSet with ordered pod management waits for every pod to be Ready before it replaces
 * any, so a pod of the bad revision that never becomes Ready blocks the rollback for good
 * (Kubernetes' "forced rollback"): delete the pods that are not Ready and not at the revision
 * rolled back to, and the controller recreates them from it.
 */
async function forceRollback(
  ctx: ActionContext,
  s: k8s.V1StatefulSet,
  to: string,
  target: ObjectRef,
): Promise<string[]> {
  if ((s.spec?.podManagementPolicy ?? 'OrderedReady') !== 'OrderedReady') return [];
  if ((s.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return [];
  const stuck = (await podsOf(ctx.kube, target)).filter(
    (p) => p.metadata?.labels?.[REVISION_HASH] !== to && !podReady(p),
  );
  const changes: string[] = [];
  for (const p of stuck) {
    const name = p.metadata?.name ?? '';
    try {
      await ctx.kube.core.deleteNamespacedPod({
        name,
        namespace: p.metadata?.namespace ?? 'default',
        ...DRY(ctx.dryRun),
      });
      changes.push(`deleted Pod ${p.metadata?.namespace}/${name}: not Ready at a revision rolled back from`);
    } catch (error) {
      if (statusOf(error) !== 404) throw apiFailure(`deleting Pod ${name}`, error);
    }
  }
  return changes;
}

/**
 * What `kubectl rollout undo` does: write the previous revision's pod template back into the
 * workload (a Deployment's ReplicaSets, a StatefulSet's or DaemonSet's ControllerRevisions), and
 * for a StatefulSet also the forced rollback Kubernetes documents (see forceRollback).
 */
async function rollback(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  const { target } = action;
  if (!WORKLOAD_KINDS.has(target.kind))
    return failed('only a Deployment, StatefulSet or DaemonSet can be rolled back');
  const namespace = target.namespace ?? 'default';
  for (let attempt = 0; attempt < 4; attempt++) {
    const w = await readWorkload(ctx.kube, target.kind, namespace, target.name);
    if (!w) return failed(`${describeRef(target)} not found`);
    const revisions = await templateRevisions(ctx.kube, target.kind, w);
    const current = target.kind === 'Deployment' ? deploymentRevision(w) : (revisions[0]?.revision ?? 0);
    const previous = revisions.find((r) => r.revision < current && r.revision > 0);
    if (!previous?.template) return failed(`no revision before ${current} to roll back to`, [], [target]);
    const message = `rolled ${describeRef(target)} back from revision ${current} to ${previous.revision}`;
    try {
      await replaceTemplate(ctx, target.kind, w, previous.template);
    } catch (error) {
      if (statusOf(error) === 409) continue;
      throw apiFailure(`rolling back ${describeRef(target)}`, error);
    }
    const forced =
      target.kind === 'StatefulSet'
        ? await forceRollback(ctx, w as k8s.V1StatefulSet, previous.name, target)
        : [];
    return done(message, [message, ...forced], [target]);
  }
  throw unavailable(`rolling back ${describeRef(target)}: still conflicting after 4 attempts`);
}

async function quarantine(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  const pods = await podsOf(ctx.kube, action.target);
  if (pods.length === 0) return skipped('no pod to quarantine');
  const namespace = action.target.namespace ?? 'default';
  const changes: string[] = [];
  const name = `kurative-quarantine-${ctx.incidentId}`.slice(0, 63).replace(/-+$/, '');
  try {
    await ctx.kube.networking.createNamespacedNetworkPolicy({
      namespace,
      body: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'kurative' } },
        spec: {
          podSelector: { matchLabels: { [QUARANTINE_LABEL]: ctx.incidentId } },
          policyTypes: ['Ingress', 'Egress'],
        },
      },
      ...DRY(ctx.dryRun),
    });
    changes.push(`created deny-all NetworkPolicy ${namespace}/${name}`);
  } catch (error) {
    if (statusOf(error) !== 409) throw apiFailure(`creating NetworkPolicy ${namespace}/${name}`, error);
  }
  for (const p of pods) {
    await ctx.kube.core.patchNamespacedPod(
      {
        name: p.metadata?.name ?? '',
        namespace,
        body: { metadata: { labels: { [QUARANTINE_LABEL]: ctx.incidentId } } },
        ...DRY(ctx.dryRun),
      },
      MERGE,
    );
    changes.push(`isolated Pod ${namespace}/${p.metadata?.name ?? ''}`);
  }
  return done(`${pods.length} pod(s) cut off from the network by ${namespace}/${name}`, changes, []);
}

/** Perform one action. API failures that are worth retrying throw (the event is redelivered). */
export async function perform(ctx: ActionContext, action: ActionSpec): Promise<ActionResult> {
  try {
    switch (action.type) {
      case 'restartPod':
      case 'evictPod':
        return await restartPods(ctx, action);
      case 'cordonNode':
      case 'moveOffNode':
        return await offNode(ctx, action, false);
      case 'drainNode':
        return await offNode(ctx, action, true);
      case 'adjustResources':
        return await adjustResources(ctx, action);
      case 'expandVolume':
        return await expandVolume(ctx, action);
      case 'scaleWorkload':
        return await scale(ctx, action);
      case 'rollbackDeployment':
        return await rollback(ctx, action);
      case 'quarantinePod':
        return await quarantine(ctx, action);
      case 'notify':
        return done(action.reason || 'humans notified', [], []);
    }
  } catch (error) {
    const code = statusOf(error);
    if (code === 404) return failed(`${describeRef(action.target)} no longer exists`);
    if (code === 403 || code === 422 || code === 400)
      return failed(`the API server refused: ${apiReason(error)}`);
    throw error;
  }
}
