import type { ObjectRef } from '../../shared/contracts/index.js';
import { WORKLOAD_KINDS } from '../../shared/kube/workloads.js';
import { parseQuantity } from '../../shared/quantity/index.js';

/** The parts of API objects the topology needs (client-node models fit structurally). */
export interface MetaView {
  name?: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid?: string; controller?: boolean }[];
  creationTimestamp?: string | Date;
}
export interface ObjectView {
  metadata?: MetaView;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** A ControllerRevision: its number and the pod template it holds (as a patch). */
export interface RevisionView {
  metadata?: MetaView;
  revision?: number;
  data?: { spec?: { template?: unknown } };
}

export interface ClusterSnapshot {
  readonly pods: readonly ObjectView[];
  readonly replicaSets: readonly ObjectView[];
  readonly deployments: readonly ObjectView[];
  readonly statefulSets: readonly ObjectView[];
  readonly daemonSets: readonly ObjectView[];
  readonly services: readonly ObjectView[];
  readonly nodes: readonly ObjectView[];
  readonly configMaps: readonly ObjectView[];
  /** Optional: Secret nodes are otherwise created from the pods' references. */
  readonly secrets?: readonly ObjectView[];
  readonly hpas: readonly ObjectView[];
  /** StatefulSets' and DaemonSets' template revisions (their rollouts); none when absent. */
  readonly controllerRevisions?: readonly RevisionView[];
  /** Observed calls between workloads (e.g. from a service mesh's request metrics). */
  readonly calls?: readonly ObservedCall[];
  /** Pods' current usage (metrics.k8s.io PodMetrics); none when metrics-server is absent. */
  readonly podMetrics?: readonly PodMetricsView[];
  /** Services' request rates before the incident and since (none without request metrics). */
  readonly demand?: readonly ServiceDemand[];
}

/** The requests one Service received before an incident's onset and since (per second). */
export interface ServiceDemand {
  readonly namespace: string;
  readonly service: string;
  /** Its usual rate before the onset (median over the half hour before it). */
  readonly before: number;
  /** Its rate since the onset (median). */
  readonly since: number;
}

/** The part of a pod spec (or a pod template's spec) rca reads for CPU. */
export interface PodSpecView {
  readonly nodeName?: string;
  readonly containers?: readonly {
    readonly name?: string;
    readonly resources?: {
      readonly limits?: Record<string, string>;
      readonly requests?: Record<string, string>;
    };
  }[];
}

/** Whether every container has a CPU limit. */
export const cpuLimitedContainers = (spec: PodSpecView | undefined): boolean =>
  limitedContainers(spec, 'cpu');

/** Whether every container of a pod spec has a limit for the resource. */
export const limitedContainers = (spec: PodSpecView | undefined, resource: 'cpu' | 'memory'): boolean =>
  (spec?.containers ?? []).every((c) => c.resources?.limits?.[resource] !== undefined);

/**
 * Each container's request (or limit) for the resource, by container name (containers without one
 * left out).
 */
export function containerResources(
  spec: PodSpecView | undefined,
  bound: 'requests' | 'limits',
  resource: 'cpu' | 'memory',
): Map<string, number> {
  const quantities = new Map<string, number>();
  for (const c of spec?.containers ?? []) {
    const quantity = parseQuantity(c.resources?.[bound]?.[resource]);
    if (quantity !== undefined && quantity > 0) quantities.set(c.name ?? '', quantity);
  }
  return quantities;
}

/** The part of a metrics.k8s.io PodMetrics rca reads. */
export interface PodMetricsView {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly containers?: readonly {
    readonly name?: string;
    readonly usage?: { readonly cpu?: string; readonly memory?: string };
  }[];
}

/** One caller → callee pair seen in traffic metrics. */
export interface ObservedCall {
  readonly namespace: string;
  /** The calling workload (a Deployment, StatefulSet or DaemonSet name). */
  readonly caller: string;
  readonly calleeNamespace: string;
  /** The called Service. */
  readonly callee: string;
}

/** How two objects relate; `from` influences `to` (a fault travels from → to). */
export type Relation = 'owns' | 'hosts' | 'configures' | 'stores' | 'serves' | 'calls' | 'scales';

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly relation: Relation;
}

/** Dependency graph of the objects around an incident, keyed `Kind/namespace/name`. */
export interface Topology {
  readonly nodes: Map<string, ObjectRef>;
  readonly edges: Edge[];
  /** Outgoing (influence) and incoming adjacency by key. */
  readonly out: Map<string, Edge[]>;
  readonly in: Map<string, Edge[]>;
}

export const DEPENDS_ON = 'kurative.dev/depends-on';

export function keyOf(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

function refOf(kind: string, o: ObjectView, apiVersion?: string): ObjectRef {
  const m = o.metadata ?? {};
  return {
    kind,
    name: m.name ?? '',
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
    ...(apiVersion ? { apiVersion } : {}),
  };
}

function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Names of the PersistentVolumeClaims a pod mounts. */
function claimRefs(pod: ObjectView): Set<string> {
  const volumes = (pod.spec as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined)
    ?.volumes;
  const out = new Set<string>();
  for (const v of volumes ?? [])
    if (v.persistentVolumeClaim?.claimName) out.add(v.persistentVolumeClaim.claimName);
  return out;
}

/** Names of ConfigMaps and Secrets a pod reads (volumes, env, envFrom). */
function configRefs(pod: ObjectView): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const spec = pod.spec as
    | {
        volumes?: { configMap?: { name?: string }; secret?: { secretName?: string } }[];
        containers?: {
          env?: { valueFrom?: { configMapKeyRef?: { name?: string }; secretKeyRef?: { name?: string } } }[];
          envFrom?: { configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
        }[];
      }
    | undefined;
  for (const v of spec?.volumes ?? []) {
    if (v.configMap?.name) configMaps.add(v.configMap.name);
    if (v.secret?.secretName) secrets.add(v.secret.secretName);
  }
  for (const c of spec?.containers ?? []) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.configMapKeyRef?.name) configMaps.add(e.valueFrom.configMapKeyRef.name);
      if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
    }
    for (const f of c.envFrom ?? []) {
      if (f.configMapRef?.name) configMaps.add(f.configMapRef.name);
      if (f.secretRef?.name) secrets.add(f.secretRef.name);
    }
  }
  return { configMaps, secrets };
}

class GraphBuilder {
  readonly nodes = new Map<string, ObjectRef>();
  readonly edges: Edge[] = [];
  private readonly byUid = new Map<string, string>();

  add(ref: ObjectRef): string {
    const k = keyOf(ref);
    if (!this.nodes.has(k)) this.nodes.set(k, ref);
    if (ref.uid) this.byUid.set(ref.uid, k);
    return k;
  }

  register(kind: string, list: readonly ObjectView[], apiVersion?: string): void {
    for (const o of list) this.add(refOf(kind, o, apiVersion));
  }

  link(from: string, to: string, relation: Relation): void {
    if (this.nodes.has(from) && this.nodes.has(to)) this.edges.push({ from, to, relation });
  }

  /** Controller owner → owned object. */
  linkOwner(o: ObjectView, kind: string): void {
    const ns = o.metadata?.namespace;
    for (const r of o.metadata?.ownerReferences ?? []) {
      if (!r.controller) continue;
      const owner = (r.uid && this.byUid.get(r.uid)) || keyOf({ kind: r.kind, namespace: ns, name: r.name });
      this.link(owner, keyOf({ kind, namespace: ns, name: o.metadata?.name ?? '' }), 'owns');
    }
  }

  /** Node → pod, ConfigMap/Secret → pod, PersistentVolumeClaim → pod. */
  linkPod(pod: ObjectView): void {
    const m = pod.metadata ?? {};
    const podKey = keyOf({ kind: 'Pod', namespace: m.namespace, name: m.name ?? '' });
    this.linkOwner(pod, 'Pod');
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (nodeName) this.link(keyOf({ kind: 'Node', name: nodeName }), podKey, 'hosts');
    const { configMaps, secrets } = configRefs(pod);
    // A ConfigMap a pod references is a node even when it is gone: its deletion may be the cause.
    for (const c of configMaps)
      this.link(
        this.add({ kind: 'ConfigMap', ...(m.namespace ? { namespace: m.namespace } : {}), name: c }),
        podKey,
        'configures',
      );
    // Secrets are known from the pods that reference them: rca never reads Secrets (least privilege).
    for (const c of secrets)
      this.link(
        this.add({ kind: 'Secret', ...(m.namespace ? { namespace: m.namespace } : {}), name: c }),
        podKey,
        'configures',
      );
    // Claims too are known from the pods that mount them (no list of claims to read): a full
    // volume breaks the pods that write to it.
    for (const c of claimRefs(pod))
      this.link(
        this.add({
          kind: 'PersistentVolumeClaim',
          ...(m.namespace ? { namespace: m.namespace } : {}),
          name: c,
        }),
        podKey,
        'stores',
      );
  }

  /**
   * Pod → Service it backs (selector); `pods` are the pods of the service's namespace. A Service
   * that selects no pod (its workload scaled to zero, or every pod gone) is linked from the
   * workloads whose pod template it selects: what is wrong behind it is still theirs.
   */
  linkService(svc: ObjectView, pods: readonly ObjectView[], workloads: readonly WorkloadView[]): void {
    const m = svc.metadata ?? {};
    const svcKey = keyOf({ kind: 'Service', namespace: m.namespace, name: m.name ?? '' });
    const selector = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
    let served = false;
    for (const pod of pods) {
      if (selects(selector, pod.metadata?.labels)) {
        served = true;
        this.link(
          keyOf({ kind: 'Pod', namespace: m.namespace, name: pod.metadata?.name ?? '' }),
          svcKey,
          'serves',
        );
      }
    }
    if (served) return;
    for (const w of workloads) {
      const labels = (w.object.spec as { template?: { metadata?: { labels?: Record<string, string> } } })
        ?.template?.metadata?.labels;
      if (w.object.metadata?.namespace === m.namespace && selects(selector, labels))
        this.link(
          keyOf({ kind: w.kind, namespace: m.namespace, name: w.object.metadata?.name ?? '' }),
          svcKey,
          'serves',
        );
    }
  }

  /** Service → workload that declares it depends on it (`kurative.dev/depends-on`). */
  linkDependencies(kind: string, workload: ObjectView): void {
    const m = workload.metadata ?? {};
    const deps = (m.annotations?.[DEPENDS_ON] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const dep of deps)
      this.link(
        keyOf({ kind: 'Service', namespace: m.namespace, name: dep }),
        keyOf({ kind, namespace: m.namespace, name: m.name ?? '' }),
        'calls',
      );
  }

  /** Service → workload that was seen calling it. */
  linkObservedCall(call: ObservedCall): void {
    const service = keyOf({ kind: 'Service', namespace: call.calleeNamespace, name: call.callee });
    for (const kind of WORKLOAD_KINDS) {
      const caller = keyOf({ kind, namespace: call.namespace, name: call.caller });
      if (this.nodes.has(caller) && !this.edges.some((e) => e.from === service && e.to === caller))
        this.link(service, caller, 'calls');
    }
  }

  /** HPA → the workload it scales. */
  linkHpa(hpa: ObjectView): void {
    const target = (hpa.spec as { scaleTargetRef?: { kind: string; name: string } } | undefined)
      ?.scaleTargetRef;
    if (!target) return;
    const k = keyOf({ kind: target.kind, namespace: hpa.metadata?.namespace, name: target.name });
    if (this.nodes.has(k))
      this.link(this.add(refOf('HorizontalPodAutoscaler', hpa, 'autoscaling/v2')), k, 'scales');
  }

  build(): Topology {
    const out = new Map<string, Edge[]>();
    const inn = new Map<string, Edge[]>();
    for (const e of this.edges) {
      const o = out.get(e.from);
      if (o) o.push(e);
      else out.set(e.from, [e]);
      const i = inn.get(e.to);
      if (i) i.push(e);
      else inn.set(e.to, [e]);
    }
    return { nodes: this.nodes, edges: this.edges, out, in: inn };
  }
}

/**
 * Build the dependency graph: Deployment/StatefulSet/DaemonSet → ReplicaSet → Pod (owns),
 * Node → Pod (hosts), ConfigMap/Secret → Pod (configures), PersistentVolumeClaim → Pod (stores),
 * Pod → Service (serves),
 * Service → calling workload (calls, from `kurative.dev/depends-on` and observed traffic), HPA → target (scales).
 * Edges point the way a fault travels.
 */
export function buildTopology(snapshot: ClusterSnapshot): Topology {
  const g = new GraphBuilder();
  g.register('Deployment', snapshot.deployments, 'apps/v1');
  g.register('StatefulSet', snapshot.statefulSets, 'apps/v1');
  g.register('DaemonSet', snapshot.daemonSets, 'apps/v1');
  g.register('ReplicaSet', snapshot.replicaSets, 'apps/v1');
  g.register('Node', snapshot.nodes);
  g.register('Service', snapshot.services);
  g.register('ConfigMap', snapshot.configMaps);
  g.register('Secret', snapshot.secrets ?? []);
  g.register('Pod', snapshot.pods);
  for (const rs of snapshot.replicaSets) g.linkOwner(rs, 'ReplicaSet');
  for (const pod of snapshot.pods) g.linkPod(pod);
  const podsByNamespace = new Map<string, ObjectView[]>();
  for (const pod of snapshot.pods) {
    const ns = pod.metadata?.namespace ?? '';
    const list = podsByNamespace.get(ns);
    if (list) list.push(pod);
    else podsByNamespace.set(ns, [pod]);
  }
  const workloads: WorkloadView[] = [
    ...snapshot.deployments.map((object) => ({ kind: 'Deployment', object })),
    ...snapshot.statefulSets.map((object) => ({ kind: 'StatefulSet', object })),
    ...snapshot.daemonSets.map((object) => ({ kind: 'DaemonSet', object })),
  ];
  for (const svc of snapshot.services)
    g.linkService(svc, podsByNamespace.get(svc.metadata?.namespace ?? '') ?? [], workloads);
  for (const d of snapshot.deployments) g.linkDependencies('Deployment', d);
  for (const d of snapshot.statefulSets) g.linkDependencies('StatefulSet', d);
  for (const d of snapshot.daemonSets) g.linkDependencies('DaemonSet', d);
  for (const hpa of snapshot.hpas) g.linkHpa(hpa);
  for (const call of snapshot.calls ?? []) g.linkObservedCall(call);
  return g.build();
}

/** A workload object with its kind (for linking a Service with no pods to what it selects). */
interface WorkloadView {
  readonly kind: string;
  readonly object: ObjectView;
}

/** The workload behind a `serves` edge: the pod's owner, or the workload itself when it has no pods. */
export function servingWorkload(topology: Topology, from: string): string | undefined {
  return from.startsWith('Pod/') ? workloadOf(topology, from) : from;
}

/** The workload (Deployment/StatefulSet/DaemonSet) that owns a pod, through its ReplicaSet. */
export function workloadOf(topology: Topology, podKey: string): string | undefined {
  let current = podKey;
  for (let hop = 0; hop < 3; hop++) {
    const owner = (topology.in.get(current) ?? []).find((e) => e.relation === 'owns');
    if (!owner) return current === podKey ? undefined : current;
    current = owner.from;
  }
  return current;
}
