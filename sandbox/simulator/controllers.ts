import { Cluster } from '../apiserver/cluster.js';
import { ApiError } from '../apiserver/errors.js';
import { podIsReady } from '../apiserver/eviction.js';
import { parseQuantity } from '../apiserver/quantity.js';
import { matchesLabels } from '../apiserver/selectors.js';
import type { KubeObject, OwnerReference } from '../apiserver/types.js';
import { podRequests } from './scheduler.js';
import { field, type SimContext } from './state.js';

const REVISION = 'deployment.kubernetes.io/revision';

/** pod-template-hash: a stable short hash of the pod template (FNV-1a, base36). */
export function templateHash(template: unknown): string {
  // Canonical: the same template hashes the same whatever the order of its keys (the real
  // controller hashes the decoded struct, so key order and nulls on the wire never matter).
  const text = canonicalJson(stripHashLabel(template));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(7, '0').slice(0, 10);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .filter(
        (k) =>
          (value as Record<string, unknown>)[k] !== undefined &&
          (value as Record<string, unknown>)[k] !== null,
      )
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

function stripHashLabel(template: unknown): unknown {
  const t = structuredClone(template) as { metadata?: { labels?: Record<string, string> } };
  if (t.metadata?.labels) delete t.metadata.labels['pod-template-hash'];
  return t;
}

function ownerRef(o: KubeObject): OwnerReference {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.metadata.name,
    uid: o.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

const owned = (o: KubeObject, owner: KubeObject) =>
  o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.controller) ?? false;
const isActivePod = (p: KubeObject) =>
  !['Succeeded', 'Failed'].includes(field<string>(p, 'status.phase') ?? '') && !p.metadata.deletionTimestamp;

function resolveIntOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'string' && value.endsWith('%')) {
    const v = (Number(value.slice(0, -1)) / 100) * total;
    return roundUp ? Math.ceil(v) : Math.floor(v);
  }
  return Number(value ?? 0);
}

/** Deployment controller: one ReplicaSet per template, rolling updates bounded by maxSurge/maxUnavailable. */
export function reconcileDeployments(ctx: SimContext): void {
  const c = ctx.cluster;
  const rsType = c.kind('apps/v1', 'ReplicaSet');
  const deployType = c.kind('apps/v1', 'Deployment');
  for (const d of c.store.scan('apps/deployments')) {
    const ns = d.metadata.namespace ?? 'default';
    const replicas = field<number>(d, 'spec.replicas') ?? 1;
    const template = field<KubeObject>(d, 'spec.template') ?? ({} as KubeObject);
    const hash = templateHash(template);
    const all = c.store.scan('apps/replicasets', ns).filter((rs) => owned(rs, d));
    let current = all.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const maxRevision = Math.max(0, ...all.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0)));
    if (!current) {
      const tpl = structuredClone(template) as { metadata?: { labels?: Record<string, string> } };
      tpl.metadata ??= {};
      tpl.metadata.labels = { ...(tpl.metadata.labels ?? {}), 'pod-template-hash': hash };
      const selector = structuredClone(
        field<{ matchLabels?: Record<string, string> }>(d, 'spec.selector') ?? {},
      );
      selector.matchLabels = { ...(selector.matchLabels ?? {}), 'pod-template-hash': hash };
      const revision = String(maxRevision + 1);
      current = c.create(rsType, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(tpl.metadata.labels ?? {}) },
          annotations: {
            [REVISION]: revision,
            'deployment.kubernetes.io/desired-replicas': String(replicas),
          },
          ownerReferences: [ownerRef(d)],
        },
        spec: { replicas: 0, selector, template: tpl },
      });
      ctx.events.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${current.metadata.name} from 0 to ${Math.min(replicas, 1)}`,
        'deployment-controller',
      );
    } else if (Number(current.metadata.annotations?.[REVISION] ?? 0) < maxRevision) {
      // A rollback: the old template becomes current again with a new revision number.
      current = c.update(rsType, {
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata.annotations, [REVISION]: String(maxRevision + 1) },
        },
      });
    }
    const old = all.filter((rs) => rs.metadata.uid !== current?.metadata.uid);
    rollOut(ctx, d, current, old, replicas);
    cleanupHistory(ctx, d, old);
    writeDeploymentStatus(ctx, deployType, d, current, [current, ...old]);
  }
}

function scaleRs(ctx: SimContext, rs: KubeObject, to: number, d: KubeObject): void {
  const from = field<number>(rs, 'spec.replicas') ?? 0;
  if (from === to) return;
  const c = ctx.cluster;
  c.update(c.kind('apps/v1', 'ReplicaSet'), {
    ...structuredClone(rs),
    spec: { ...(rs['spec'] as object), replicas: to },
  });
  ctx.events.record(
    d,
    'Normal',
    'ScalingReplicaSet',
    `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`,
    'deployment-controller',
  );
}

function readyOf(ctx: SimContext, rs: KubeObject): number {
  return ctx.cluster.store.scan('/pods', rs.metadata.namespace).filter((p) => owned(p, rs) && podIsReady(p))
    .length;
}

function rollOut(
  ctx: SimContext,
  d: KubeObject,
  current: KubeObject,
  old: KubeObject[],
  replicas: number,
): void {
  const c = ctx.cluster;
  const strategy =
    field<{ type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } }>(
      d,
      'spec.strategy',
    ) ?? {};
  const refreshed = (rs: KubeObject) =>
    c.store.peek('apps/replicasets', rs.metadata.namespace, rs.metadata.name) ?? rs;
  if (strategy.type === 'Recreate') {
    for (const rs of old) scaleRs(ctx, rs, 0, d);
    const oldPods = c.store.scan('/pods', d.metadata.namespace).filter((p) => old.some((rs) => owned(p, rs)));
    if (oldPods.length === 0) scaleRs(ctx, current, replicas, d);
    return;
  }
  const maxSurge = resolveIntOrPercent(strategy.rollingUpdate?.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = resolveIntOrPercent(strategy.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  const oldTotal = old.reduce((s, rs) => s + (field<number>(rs, 'spec.replicas') ?? 0), 0);
  const cur = field<number>(current, 'spec.replicas') ?? 0;
  if (oldTotal === 0) {
    scaleRs(ctx, current, replicas, d);
    return;
  }
  // Scale up the new ReplicaSet within the surge budget.
  const allowedTotal = replicas + maxSurge;
  const upTo = Math.min(replicas, cur + Math.max(0, allowedTotal - (oldTotal + cur)));
  if (upTo > cur) scaleRs(ctx, current, upTo, d);
  // Scale down old ReplicaSets only as far as availability allows.
  const newReady = readyOf(ctx, refreshed(current));
  const oldReady = old.reduce((s, rs) => s + readyOf(ctx, rs), 0);
  const minAvailable = replicas - maxUnavailable;
  let budget = Math.max(0, newReady + oldReady - minAvailable);
  // Unhealthy old pods can always go (they do not count as available).
  for (const rs of old) {
    const size = field<number>(rs, 'spec.replicas') ?? 0;
    if (size === 0) continue;
    const unready = size - readyOf(ctx, rs);
    const down = Math.min(size, Math.max(0, unready) + budget);
    budget -= Math.max(0, down - Math.max(0, unready));
    if (down > 0) scaleRs(ctx, rs, size - down, d);
    if (budget <= 0) break;
  }
}

function cleanupHistory(ctx: SimContext, d: KubeObject, old: KubeObject[]): void {
  const limit = field<number>(d, 'spec.revisionHistoryLimit') ?? 10;
  const idle = old
    .filter((rs) => (field<number>(rs, 'spec.replicas') ?? 0) === 0)
    .sort(
      (a, b) =>
        Number(a.metadata.annotations?.[REVISION] ?? 0) - Number(b.metadata.annotations?.[REVISION] ?? 0),
    );
  const c = ctx.cluster;
  for (const rs of idle.slice(0, Math.max(0, idle.length - limit)))
    c.delete(c.kind('apps/v1', 'ReplicaSet'), rs.metadata.namespace, rs.metadata.name);
}

type ConditionFactory = (
  type: string,
  status: string,
  reason: string,
  message: string,
) => Record<string, unknown>;

/** The Progressing condition, with progressDeadlineSeconds: no progress for that long is ProgressDeadlineExceeded. */
function progressingCondition(
  ctx: SimContext,
  d: KubeObject,
  current: KubeObject,
  counts: string,
  complete: boolean,
  cond: ConditionFactory,
): Record<string, unknown> {
  const key = `${d.metadata.namespace ?? ''}/${d.metadata.name}`;
  const signature = `${current.metadata.name}|${counts}`;
  const last = ctx.rolloutProgress.get(key);
  if (!last || last.signature !== signature)
    ctx.rolloutProgress.set(key, { signature, at: ctx.clock.epochMs });
  const since = ctx.rolloutProgress.get(key)?.at ?? ctx.clock.epochMs;
  const deadlineMs = (field<number>(d, 'spec.progressDeadlineSeconds') ?? 600) * 1000;
  const rs = current.metadata.name;
  if (!complete && ctx.clock.epochMs - since > deadlineMs) {
    return cond(
      'Progressing',
      'False',
      'ProgressDeadlineExceeded',
      `ReplicaSet "${rs}" has timed out progressing.`,
    );
  }
  return complete
    ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${rs}" has successfully progressed.`)
    : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`);
}

function writeDeploymentStatus(
  ctx: SimContext,
  type: ReturnType<Cluster['kind']>,
  d: KubeObject,
  current: KubeObject,
  all: KubeObject[],
): void {
  const c = ctx.cluster;
  const pods = c.store
    .scan('/pods', d.metadata.namespace)
    .filter((p) => isActivePod(p) && all.some((rs) => owned(p, rs)));
  const replicas = field<number>(d, 'spec.replicas') ?? 1;
  const ready = pods.filter(podIsReady).length;
  const updated = pods.filter((p) => owned(p, current)).length;
  const updatedReady = pods.filter((p) => owned(p, current) && podIsReady(p)).length;
  const now = c.now().toISOString();
  const prev =
    field<{ type: string; status: string; lastTransitionTime?: string }[]>(d, 'status.conditions') ?? [];
  const cond = (type: string, status: string, reason: string, message: string) => {
    const before = prev.find((x) => x.type === type);
    return {
      type,
      status,
      reason,
      message,
      lastUpdateTime:
        before?.status === status ? ((before as { lastUpdateTime?: string }).lastUpdateTime ?? now) : now,
      lastTransitionTime: before?.status === status ? (before.lastTransitionTime ?? now) : now,
    };
  };
  const complete = updatedReady >= replicas && pods.length === replicas;
  const progressing = progressingCondition(
    ctx,
    d,
    current,
    `${updated}|${updatedReady}|${pods.length}`,
    complete,
    cond,
  );
  const status = {
    observedGeneration: d.metadata.generation,
    replicas: pods.length,
    updatedReplicas: updated,
    readyReplicas: ready,
    availableReplicas: ready,
    unavailableReplicas: Math.max(0, replicas - ready),
    conditions: [
      cond(
        'Available',
        ready >=
          replicas -
            resolveIntOrPercent(
              field(d, 'spec.strategy.rollingUpdate.maxUnavailable') ?? '25%',
              replicas,
              false,
            )
          ? 'True'
          : 'False',
        ready >= replicas ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        ready >= replicas
          ? 'Deployment has minimum availability.'
          : 'Deployment does not have minimum availability.',
      ),
      progressing,
    ],
  };
  const annotations = {
    ...(d.metadata.annotations ?? {}),
    [REVISION]: current.metadata.annotations?.[REVISION] ?? '1',
  };
  const fresh = c.store.peek('apps/deployments', d.metadata.namespace, d.metadata.name);
  if (!fresh) return;
  if (JSON.stringify(fresh.metadata.annotations ?? {}) !== JSON.stringify(annotations)) {
    c.update(type, {
      ...structuredClone(fresh),
      metadata: { ...structuredClone(fresh.metadata), annotations },
    });
  }
  const latest = c.store.peek('apps/deployments', d.metadata.namespace, d.metadata.name);
  if (latest && JSON.stringify(latest['status']) !== JSON.stringify(status))
    c.update(type, { ...structuredClone(latest), status }, { subresource: 'status' });
}

/** ReplicaSet controller: create or delete pods to match spec.replicas; admission failures become FailedCreate events. */
export function reconcileReplicaSets(ctx: SimContext): void {
  const c = ctx.cluster;
  const podType = c.kind('v1', 'Pod');
  const rsType = c.kind('apps/v1', 'ReplicaSet');
  for (const rs of c.store.scan('apps/replicasets')) {
    const ns = rs.metadata.namespace ?? 'default';
    const want = field<number>(rs, 'spec.replicas') ?? 0;
    const selector = Cluster.selectorOf(rs);
    const pods = c.store
      .scan('/pods', ns)
      .filter((p) => owned(p, rs) && isActivePod(p) && matchesLabels(selector, p.metadata.labels));
    if (pods.length < want) {
      for (let i = pods.length; i < want; i++) {
        const template = structuredClone(field<KubeObject>(rs, 'spec.template') ?? ({} as KubeObject));
        try {
          const pod = c.create(podType, {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              ...(template.metadata ?? {}),
              name: '',
              generateName: `${rs.metadata.name}-`,
              namespace: ns,
              ownerReferences: [ownerRef(rs)],
            },
            spec: template['spec'],
          });
          ctx.events.record(
            rs,
            'Normal',
            'SuccessfulCreate',
            `Created pod: ${pod.metadata.name}`,
            'replicaset-controller',
          );
        } catch (error) {
          const message = error instanceof ApiError ? error.message : String(error);
          ctx.events.record(
            rs,
            'Warning',
            'FailedCreate',
            `Error creating: ${message}`,
            'replicaset-controller',
          );
          break;
        }
      }
    } else if (pods.length > want) {
      // Delete the least useful first: unscheduled, then not ready, then newest.
      const ranked = [...pods].sort(
        (a, b) =>
          rankForDeletion(a) - rankForDeletion(b) ||
          (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
      );
      for (const p of ranked.slice(0, pods.length - want)) {
        c.delete(podType, ns, p.metadata.name);
        ctx.events.record(
          rs,
          'Normal',
          'SuccessfulDelete',
          `Deleted pod: ${p.metadata.name}`,
          'replicaset-controller',
        );
      }
    }
    const now = c.store.scan('/pods', ns).filter((p) => owned(p, rs) && isActivePod(p));
    const ready = now.filter(podIsReady).length;
    const status = {
      replicas: now.length,
      fullyLabeledReplicas: now.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation,
    };
    const fresh = c.store.peek('apps/replicasets', ns, rs.metadata.name);
    if (fresh && JSON.stringify(fresh['status']) !== JSON.stringify(status))
      c.update(rsType, { ...structuredClone(fresh), status }, { subresource: 'status' });
  }
}

function rankForDeletion(p: KubeObject): number {
  if (!field<string>(p, 'spec.nodeName')) return 0;
  return podIsReady(p) ? 2 : 1;
}

type HpaState = { at: number; recommendations: { at: number; value: number }[] };

/** Mean CPU utilisation (% of request) over the ready pods matching a workload's selector. */
function meanCpuUtilisation(
  ctx: SimContext,
  target: KubeObject,
  cpuUsageOfPod: (p: KubeObject) => number | undefined,
): number | undefined {
  const selector = Cluster.selectorOf(target);
  let total = 0;
  let counted = 0;
  for (const p of ctx.cluster.store.scan('/pods', target.metadata.namespace)) {
    if (!matchesLabels(selector, p.metadata.labels) || !podIsReady(p)) continue;
    const used = cpuUsageOfPod(p);
    const requested = podRequests(p).cpu;
    if (used === undefined || requested <= 0) continue;
    total += (used / requested) * 100;
    counted++;
  }
  return counted === 0 ? undefined : total / counted;
}

/** HorizontalPodAutoscaler (autoscaling/v2, CPU utilisation): desired = ceil(current × usage / target), 5-minute scale-down stabilisation. */
export function reconcileHpas(
  ctx: SimContext,
  cpuUsageOfPod: (p: KubeObject) => number | undefined,
  lastScale: Map<string, HpaState>,
): void {
  const c = ctx.cluster;
  const hpaType = c.kind('autoscaling/v2', 'HorizontalPodAutoscaler');
  const now = ctx.clock.epochMs;
  for (const hpa of c.store.scan('autoscaling/horizontalpodautoscalers')) {
    const ns = hpa.metadata.namespace ?? 'default';
    const ref = field<{ apiVersion?: string; kind: string; name: string }>(hpa, 'spec.scaleTargetRef');
    const targetType = ref ? c.registry.findKind(ref.apiVersion ?? 'apps/v1', ref.kind) : undefined;
    const target = targetType && ref ? c.store.peek(targetType.storage, ns, ref.name) : undefined;
    if (!targetType || !target) continue;
    const utilisation = meanCpuUtilisation(ctx, target, cpuUsageOfPod);
    if (utilisation === undefined) continue;
    const min = field<number>(hpa, 'spec.minReplicas') ?? 1;
    const max = field<number>(hpa, 'spec.maxReplicas') ?? min;
    const metrics =
      field<{ type: string; resource?: { name: string; target: { averageUtilization?: number } } }[]>(
        hpa,
        'spec.metrics',
      ) ?? [];
    const targetUtil =
      metrics.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu')?.resource?.target
        .averageUtilization ?? 80;
    const current = field<number>(target, 'spec.replicas') ?? 1;
    const ratio = utilisation / targetUtil;
    // Within 10 % of target the HPA does nothing (its default tolerance).
    let desired = Math.min(
      max,
      Math.max(min, Math.abs(ratio - 1) <= 0.1 ? current : Math.ceil(current * ratio)),
    );
    const state = lastScale.get(`${ns}/${hpa.metadata.name}`) ?? { at: 0, recommendations: [] };
    state.recommendations = [
      ...state.recommendations.filter((r) => now - r.at <= 300_000),
      { at: now, value: desired },
    ];
    lastScale.set(`${ns}/${hpa.metadata.name}`, state);
    // Scale down only to the highest recommendation of the last 5 minutes (downscale stabilisation window).
    if (desired < current) desired = Math.max(...state.recommendations.map((r) => r.value));
    if (desired !== current) {
      c.update(targetType, {
        ...structuredClone(target),
        spec: { ...(target['spec'] as object), replicas: desired },
      });
      const direction = desired > current ? 'above' : 'below';
      ctx.events.record(
        hpa,
        'Normal',
        'SuccessfulRescale',
        `New size: ${desired}; reason: cpu resource utilization (percentage of request) ${direction} target`,
        'horizontal-pod-autoscaler',
      );
      state.at = now;
    }
    const status = {
      currentReplicas: current,
      desiredReplicas: desired,
      currentMetrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', current: { averageUtilization: Math.round(utilisation) } },
        },
      ],
      ...(state.at ? { lastScaleTime: new Date(state.at).toISOString() } : {}),
    };
    const fresh = c.store.peek('autoscaling/horizontalpodautoscalers', ns, hpa.metadata.name);
    if (fresh && JSON.stringify(fresh['status']) !== JSON.stringify(status))
      c.update(hpaType, { ...structuredClone(fresh), status }, { subresource: 'status' });
  }
}

function podFromTemplate(
  owner: KubeObject,
  name: string,
  extraSpec: Record<string, unknown> = {},
): KubeObject {
  const template = structuredClone(field<KubeObject>(owner, 'spec.template') ?? ({} as KubeObject));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(template.metadata ?? {}),
      name,
      namespace: owner.metadata.namespace,
      ownerReferences: [ownerRef(owner)],
    },
    spec: { ...(template['spec'] as object), ...extraSpec },
  };
}

function createOwnedPod(ctx: SimContext, owner: KubeObject, pod: KubeObject, controller: string): void {
  try {
    const created = ctx.cluster.create(ctx.cluster.kind('v1', 'Pod'), pod);
    ctx.events.record(
      owner,
      'Normal',
      'SuccessfulCreate',
      `create Pod ${created.metadata.name} in ${owner.kind} ${owner.metadata.name} successful`,
      controller,
    );
  } catch (error) {
    const message = error instanceof ApiError ? error.message : String(error);
    ctx.events.record(
      owner,
      'Warning',
      'FailedCreate',
      `create Pod ${pod.metadata.name} in ${owner.kind} ${owner.metadata.name} failed error: ${message}`,
      controller,
    );
  }
}

function writeWorkloadStatus(
  ctx: SimContext,
  owner: KubeObject,
  storage: string,
  status: Record<string, unknown>,
): void {
  const c = ctx.cluster;
  const fresh = c.store.peek(storage, owner.metadata.namespace, owner.metadata.name);
  if (fresh && JSON.stringify(fresh['status']) !== JSON.stringify(status)) {
    c.update(c.kind('apps/v1', owner.kind), { ...structuredClone(fresh), status }, { subresource: 'status' });
  }
}

/** Label of a StatefulSet's or DaemonSet's pods naming the revision they were made from. */
const REVISION_HASH = 'controller-revision-hash';
/** Label of a ControllerRevision: the hash of the template it holds. */
const REVISION_TEMPLATE_HASH = 'controller.kubernetes.io/hash';

const revisionNumber = (r: KubeObject): number => Number(r['revision'] ?? 0);

/**
 * The ControllerRevisions of a StatefulSet or DaemonSet, kept as their controllers keep them: one
 * per distinct pod template (data: the template as a strategic merge patch that replaces it, which
 * is what `kubectl rollout undo` applies), numbered in order. Going back to an earlier template
 * renumbers its revision, as a Deployment renumbers a ReplicaSet. History beyond
 * spec.revisionHistoryLimit (10) that no pod runs is deleted. Returns the update revision.
 */
function syncRevisions(ctx: SimContext, owner: KubeObject, pods: readonly KubeObject[]): KubeObject {
  const c = ctx.cluster;
  const type = c.kind('apps/v1', 'ControllerRevision');
  const ns = owner.metadata.namespace ?? 'default';
  const template = field<KubeObject>(owner, 'spec.template') ?? ({} as KubeObject);
  const hash = templateHash(template);
  const all = c.store.scan('apps/controllerrevisions', ns).filter((r) => owned(r, owner));
  const top = Math.max(0, ...all.map(revisionNumber));
  let update = all.find((r) => r.metadata.labels?.[REVISION_TEMPLATE_HASH] === hash);
  if (!update)
    update = c.create(type, {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name: `${owner.metadata.name}-${hash}`,
        namespace: ns,
        labels: {
          ...(field<Record<string, string>>(owner, 'spec.selector.matchLabels') ?? {}),
          [REVISION_TEMPLATE_HASH]: hash,
        },
        ownerReferences: [ownerRef(owner)],
      },
      data: { spec: { template: { ...structuredClone(template), $patch: 'replace' } } },
      revision: top + 1,
    });
  else if (revisionNumber(update) < top) update = c.update(type, { ...update, revision: top + 1 });
  const limit = field<number>(owner, 'spec.revisionHistoryLimit') ?? 10;
  const inUse = new Set(pods.map((p) => p.metadata.labels?.[REVISION_HASH]));
  const history = all
    .filter((r) => r.metadata.uid !== update.metadata.uid)
    .filter((r) => !inUse.has(r.metadata.name) && !inUse.has(r.metadata.labels?.[REVISION_TEMPLATE_HASH]))
    .sort((a, b) => revisionNumber(a) - revisionNumber(b));
  for (const r of history.slice(0, Math.max(0, history.length - limit))) c.delete(type, ns, r.metadata.name);
  return update;
}

const updateStrategy = (o: KubeObject): string =>
  field<string>(o, 'spec.updateStrategy.type') ?? 'RollingUpdate';

/**
 * StatefulSet controller: pods <name>-0..N-1. With OrderedReady (the default) they are created
 * one at a time, each after the previous is Running and Ready, and a scale-down removes the pods
 * past N from the highest ordinal down, one at a time, once every pod below N is Ready — and an
 * unhealthy pod to remove waits for the unhealthy ones below it (Kubernetes' "monotonic" mode);
 * with Parallel, all are created and removed at once. A RollingUpdate replaces pods not at the
 * update revision from the highest ordinal down, one at a time, and only while every pod is Ready
 * (partition honoured). As in Kubernetes, a pod of a bad revision that never becomes Ready blocks
 * the StatefulSet for good, even after its template is reverted: it must be deleted ("forced
 * rollback").
 */
export function reconcileStatefulSets(ctx: SimContext): void {
  const c = ctx.cluster;
  for (const sts of c.store.scan('apps/statefulsets')) {
    const ns = sts.metadata.namespace ?? 'default';
    const want = field<number>(sts, 'spec.replicas') ?? 1;
    const pods = c.store.scan('/pods', ns).filter((p) => owned(p, sts) && isActivePod(p));
    const update = syncRevisions(ctx, sts, pods).metadata.name;
    const byName = new Map(pods.map((p) => [p.metadata.name, p]));
    const ordered = field<string>(sts, 'spec.podManagementPolicy') !== 'Parallel';
    let blocked = false;
    for (let i = 0; i < want && !(ordered && blocked); i++) {
      const name = `${sts.metadata.name}-${i}`;
      const existing = byName.get(name);
      blocked ||= !existing || !podIsReady(existing);
      if (!existing) {
        const pod = podFromTemplate(sts, name, { hostname: name });
        pod.metadata.labels = {
          ...(pod.metadata.labels ?? {}),
          [REVISION_HASH]: update,
          'statefulset.kubernetes.io/pod-name': name,
        };
        createOwnedPod(ctx, sts, pod, 'statefulset-controller');
      }
    }
    // With OrderedReady, a sync that removed a pod does nothing else (as Kubernetes' does).
    const removed = !(ordered && blocked) && scaleDownStatefulSet(ctx, sts, pods, want, ordered);
    const partition = field<number>(sts, 'spec.updateStrategy.rollingUpdate.partition') ?? 0;
    if (!blocked && !(ordered && removed) && updateStrategy(sts) === 'RollingUpdate')
      for (let i = want - 1; i >= partition; i--) {
        const pod = byName.get(`${sts.metadata.name}-${i}`);
        if (!pod || pod.metadata.labels?.[REVISION_HASH] === update) continue;
        deleteStatefulSetPod(ctx, sts, pod);
        break;
      }
    const now = c.store.scan('/pods', ns).filter((p) => owned(p, sts) && isActivePod(p));
    const ready = now.filter(podIsReady).length;
    const updated = now.filter((p) => p.metadata.labels?.[REVISION_HASH] === update).length;
    // The current revision moves to the update revision once every replica runs it.
    const previous = field<string>(sts, 'status.currentRevision');
    const current = !previous || (updated === want && now.length === want) ? update : previous;
    writeWorkloadStatus(ctx, sts, 'apps/statefulsets', {
      replicas: now.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: now.filter((p) => p.metadata.labels?.[REVISION_HASH] === current).length,
      updatedReplicas: updated,
      currentRevision: current,
      updateRevision: update,
      observedGeneration: sts.metadata.generation,
    });
  }
}

/**
 * Remove the pods past `want`, highest ordinal first: all at once (Parallel) or one per sync
 * (OrderedReady). Whether any was removed.
 */
function scaleDownStatefulSet(
  ctx: SimContext,
  sts: KubeObject,
  pods: readonly KubeObject[],
  want: number,
  ordered: boolean,
): boolean {
  const ordinal = (p: KubeObject) => Number(p.metadata.name.slice(sts.metadata.name.length + 1));
  const condemned = pods.filter((p) => ordinal(p) >= want).sort((a, b) => ordinal(b) - ordinal(a));
  const firstUnhealthy = condemned.findLast((p) => !podIsReady(p));
  for (const pod of condemned) {
    if (ordered && !podIsReady(pod) && pod !== firstUnhealthy) return false;
    deleteStatefulSetPod(ctx, sts, pod);
    if (ordered) return true;
  }
  return condemned.length > 0;
}

/** A StatefulSet's pod deleted by its controller, with the Event Kubernetes records for it. */
function deleteStatefulSetPod(ctx: SimContext, sts: KubeObject, pod: KubeObject): void {
  ctx.cluster.delete(ctx.cluster.kind('v1', 'Pod'), pod.metadata.namespace ?? 'default', pod.metadata.name);
  ctx.events.record(
    sts,
    'Normal',
    'SuccessfulDelete',
    `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`,
    'statefulset-controller',
  );
}

/** What the DaemonSet controller adds to its pods: they run through node trouble and on cordoned nodes. */
const DAEMON_TOLERATIONS = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/**
 * A daemon pod pinned to its node as the DaemonSet controller pins it: its required node affinity
 * replaced by one term matching the node's name. The scheduler binds it (or reports why not:
 * a node without room for its requests leaves it Pending).
 */
function pinnedToNode(pod: KubeObject, node: string): KubeObject {
  const spec = pod['spec'] as { affinity?: { nodeAffinity?: Record<string, unknown> } };
  const affinity = spec.affinity ?? {};
  spec.affinity = {
    ...affinity,
    nodeAffinity: {
      ...(affinity.nodeAffinity ?? {}),
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }],
      },
    },
  };
  return pod;
}

/** The node a daemon pod is for: where it is bound, or the node its affinity pins it to. */
function daemonPodNode(pod: KubeObject): string | undefined {
  const terms = field<{ matchFields?: { key: string; values?: string[] }[] }[]>(
    pod,
    'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms',
  );
  return (
    field<string>(pod, 'spec.nodeName') ??
    terms?.[0]?.matchFields?.find((f) => f.key === 'metadata.name')?.values?.[0]
  );
}

/**
 * DaemonSet controller: one pod for every node whose taints the pod (with the controller's
 * tolerations) tolerates and whose labels its node affinity matches, pinned to it and placed by the
 * scheduler — as Kubernetes does since 1.12, so a pod whose requests do not fit its node stays
 * Pending with FailedScheduling. A RollingUpdate deletes old pods that are not Ready first (they
 * cost no availability), then old Ready ones while fewer than maxUnavailable (default 1) nodes lack
 * a Ready pod; the node's pod is recreated from the new template. A new pod that never becomes
 * Ready stalls the rollout.
 */
export function reconcileDaemonSets(
  ctx: SimContext,
  nodeAccepts: (pod: KubeObject, node: KubeObject) => boolean,
): void {
  const c = ctx.cluster;
  const nodes = c.store.scan('/nodes');
  for (const ds of c.store.scan('apps/daemonsets')) {
    const ns = ds.metadata.namespace ?? 'default';
    const pods = c.store.scan('/pods', ns).filter((p) => owned(p, ds) && isActivePod(p));
    const update = syncRevisions(ctx, ds, pods).metadata.labels?.[REVISION_TEMPLATE_HASH] ?? '';
    const onNode = new Set(pods.map(daemonPodNode));
    const tolerations = [
      ...(field<object[]>(ds, 'spec.template.spec.tolerations') ?? []),
      ...DAEMON_TOLERATIONS,
    ];
    let desired = 0;
    for (const node of nodes) {
      const candidate = podFromTemplate(ds, `${ds.metadata.name}-${node.metadata.name}`, {
        tolerations, // read only: the API server stores a copy of the pod
      });
      candidate.metadata.labels = { ...(candidate.metadata.labels ?? {}), [REVISION_HASH]: update };
      if (!nodeAccepts(candidate, node)) continue;
      desired++;
      if (!onNode.has(node.metadata.name))
        createOwnedPod(ctx, ds, pinnedToNode(candidate, node.metadata.name), 'daemonset-controller');
    }
    if (updateStrategy(ds) === 'RollingUpdate') rollDaemonSet(ctx, ds, pods, update, desired);
    const now = c.store.scan('/pods', ns).filter((p) => owned(p, ds) && isActivePod(p));
    const ready = now.filter(podIsReady).length;
    writeWorkloadStatus(ctx, ds, 'apps/daemonsets', {
      desiredNumberScheduled: desired,
      currentNumberScheduled: now.length,
      numberReady: ready,
      numberAvailable: ready,
      updatedNumberScheduled: now.filter((p) => p.metadata.labels?.[REVISION_HASH] === update).length,
      numberMisscheduled: 0,
      observedGeneration: ds.metadata.generation,
    });
  }
}

function rollDaemonSet(
  ctx: SimContext,
  ds: KubeObject,
  pods: readonly KubeObject[],
  update: string,
  desired: number,
): void {
  const c = ctx.cluster;
  const podType = c.kind('v1', 'Pod');
  const old = pods.filter((p) => p.metadata.labels?.[REVISION_HASH] !== update);
  const remove = (p: KubeObject) => {
    c.delete(podType, p.metadata.namespace, p.metadata.name);
    ctx.events.record(
      ds,
      'Normal',
      'SuccessfulDelete',
      `Deleted pod: ${p.metadata.name}`,
      'daemonset-controller',
    );
  };
  const unready = old.filter((p) => !podIsReady(p));
  unready.forEach(remove);
  const maxUnavailable = resolveIntOrPercent(
    field<unknown>(ds, 'spec.updateStrategy.rollingUpdate.maxUnavailable') ?? 1,
    desired,
    true,
  );
  let unavailable = desired - pods.filter(podIsReady).length;
  for (const p of old.filter(podIsReady)) {
    if (unavailable >= Math.max(1, maxUnavailable)) break;
    remove(p);
    unavailable++;
  }
}

/** How long the CSI resizer and the kubelet take to grow a volume and its filesystem online. */
const RESIZE_MS = 30_000;

/**
 * Volume expansion (external-resizer, then the kubelet's online filesystem resize): a claim whose
 * request is above its capacity shows `Resizing`, then after RESIZE_MS has the requested capacity.
 * The API server only admits the larger request when the StorageClass allows expansion.
 */
export function reconcileVolumeExpansion(ctx: SimContext): void {
  const c = ctx.cluster;
  const now = ctx.clock.epochMs;
  for (const pvc of c.store.scan('/persistentvolumeclaims')) {
    const requested = field<string>(pvc, 'spec.resources.requests.storage');
    const capacity = field<string>(pvc, 'status.capacity.storage');
    if (!requested || !capacity || (parseQuantity(requested) ?? 0) <= (parseQuantity(capacity) ?? 0))
      continue;
    const status = (pvc['status'] ?? {}) as { conditions?: { type: string; lastTransitionTime?: string }[] };
    const resizing = status.conditions?.find((x) => x.type === 'Resizing');
    const since = Date.parse(resizing?.lastTransitionTime ?? '');
    const next = !resizing
      ? {
          ...status,
          conditions: [{ type: 'Resizing', status: 'True', lastTransitionTime: new Date(now).toISOString() }],
        }
      : now - since >= RESIZE_MS
        ? { ...status, capacity: { storage: requested }, conditions: [] }
        : undefined;
    if (next)
      c.update(
        c.kind('v1', 'PersistentVolumeClaim'),
        { ...structuredClone(pvc), status: next },
        { subresource: 'status' },
      );
  }
}
