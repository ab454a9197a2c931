import { parseQuantity } from '../apiserver/quantity.js';
import type { KubeObject } from '../apiserver/types.js';
import { gaussian } from './random.js';
import { Behaviour } from './scenario.js';
import {
  field,
  hogCores,
  imageBehaviour,
  NO_CPU_HOG,
  type ContainerRuntime,
  type PodRuntime,
  type SimContext,
  type VolumeRuntime,
  volumeKey,
} from './state.js';

interface ContainerSpec {
  name: string;
  image: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
}

const PULL_MS = 3000;
const MAX_BACKOFF_MS = 300_000;

/** The workload (Deployment/StatefulSet/DaemonSet) a pod belongs to, via its ReplicaSet. */
export function workloadOfPod(ctx: SimContext, pod: KubeObject): string | undefined {
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller);
  if (!owner) return undefined;
  if (owner.kind === 'ReplicaSet') {
    const rs = ctx.cluster.store.peek('apps/replicasets', pod.metadata.namespace, owner.name);
    const d = rs?.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
    return d ? `${pod.metadata.namespace}/${d.name}` : undefined;
  }
  return `${pod.metadata.namespace}/${owner.name}`;
}

function runtimeFor(ctx: SimContext, pod: KubeObject): PodRuntime {
  const uid = pod.metadata.uid ?? '';
  let rt = ctx.pods.get(uid);
  if (!rt) {
    const now = ctx.clock.epochMs;
    rt = {
      uid,
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      workload: workloadOfPod(ctx, pod),
      node: undefined,
      containers: (field<ContainerSpec[]>(pod, 'spec.containers') ?? []).map((c) => ({
        name: c.name,
        image: c.image,
        phase: 'pulling',
        phaseSince: now,
        startedAt: 0,
        restartCount: 0,
        backoffUntil: 0,
        lastTermination: undefined,
        memory: 0,
        cpu: 0,
        ephemeral: 0,
        leaked: 0,
        ready: false,
        pendingCrash: undefined,
      })),
      rps: 0,
      saturation: 0,
      queueing: 0,
      evicted: false,
      lastStatusJson: '',
      injected: { cpu: NO_CPU_HOG, latencyMs: 0, diskPerSecond: 0 },
    };
    ctx.pods.set(uid, rt);
  }
  return rt;
}

function configProblem(
  ctx: SimContext,
  pod: KubeObject,
  spec: ContainerSpec,
  rt: PodRuntime,
): string | undefined {
  const ns = pod.metadata.namespace;
  for (const ref of spec.envFrom ?? []) {
    if (ref.configMapRef && !ctx.cluster.store.peek('/configmaps', ns, ref.configMapRef.name))
      return 'CreateContainerConfigError';
  }
  const w = rt.workload ? ctx.workloads.get(rt.workload) : undefined;
  const check = w?.behaviour.config;
  if (check) {
    const cm = ctx.cluster.store.peek('/configmaps', ns, check.configMap);
    if (!cm) return 'CreateContainerConfigError';
    const value = (cm['data'] as Record<string, string> | undefined)?.[check.key];
    if (value === undefined || !new RegExp(check.pattern).test(value)) return 'InvalidConfig';
  }
  return undefined;
}

function startContainer(
  ctx: SimContext,
  pod: KubeObject,
  spec: ContainerSpec,
  c: ContainerRuntime,
  rt: PodRuntime,
): void {
  const now = ctx.clock.epochMs;
  const problem = configProblem(ctx, pod, spec, rt);
  if (problem === 'CreateContainerConfigError') {
    if (c.phase !== 'configError')
      ctx.events.record(pod, 'Warning', 'Failed', `Error: configmap not found`, 'kubelet', rt.node);
    c.phase = 'configError';
    c.phaseSince = now;
    return;
  }
  c.phase = 'running';
  c.phaseSince = now;
  c.startedAt = now;
  c.leaked = 0;
  c.ephemeral = 0;
  c.pendingCrash = problem;
  ctx.events.record(pod, 'Normal', 'Created', `Created container: ${c.name}`, 'kubelet', rt.node);
  ctx.events.record(pod, 'Normal', 'Started', `Started container ${c.name}`, 'kubelet', rt.node);
}

function terminate(
  ctx: SimContext,
  pod: KubeObject,
  c: ContainerRuntime,
  rt: PodRuntime,
  reason: string,
  exitCode: number,
): void {
  const now = ctx.clock.epochMs;
  c.lastTermination = { reason, exitCode, at: now };
  c.restartCount++;
  ctx.counters.restarts++;
  if (reason === 'OOMKilled') ctx.counters.oomKills++;
  else ctx.counters.crashes++;
  // Kubelet crash-loop back-off: 10 s doubling to 5 min; reset after 10 min of good running.
  const ranFor = now - c.startedAt;
  const steps = ranFor > 600_000 ? 0 : Math.min(5, c.restartCount - 1);
  const backoff = Math.min(MAX_BACKOFF_MS, 10_000 * 2 ** steps);
  c.backoffUntil = now + backoff;
  c.phase = 'backoff';
  c.phaseSince = now;
  c.ready = false;
  c.memory = 0;
  c.cpu = 0;
  if (reason === 'OOMKilled') {
    ctx.events.record(
      pod,
      'Warning',
      'OOMKilling',
      `Memory cgroup out of memory: Killed process (${c.name}) in container ${c.name}`,
      'kubelet',
      rt.node,
    );
  }
  ctx.events.record(
    pod,
    'Warning',
    'BackOff',
    `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid ?? ''})`,
    'kubelet',
    rt.node,
  );
}

interface ContainerStep {
  readonly ctx: SimContext;
  readonly pod: KubeObject;
  readonly spec: ContainerSpec;
  readonly c: ContainerRuntime;
  readonly rt: PodRuntime;
  /** The pod mounts a volume with no space left: its writes fail and the process exits. */
  readonly volumeFull: boolean;
}

/** Pull, back-off and restart handling; true when the container is running this tick. */
function advanceLifecycle({ ctx, pod, spec, c, rt }: ContainerStep): boolean {
  const now = ctx.clock.epochMs;
  const record = (type: 'Normal' | 'Warning', reason: string, message: string) =>
    ctx.events.record(pod, type, reason, message, 'kubelet', rt.node);
  switch (c.phase) {
    case 'pulling': {
      const pulled = now - c.phaseSince >= PULL_MS;
      if (now === c.phaseSince) record('Normal', 'Pulling', `Pulling image "${c.image}"`);
      if (!pulled) return false;
      if (imageBehaviour(ctx, c.image).pullFails) {
        c.phase = 'pullBackOff';
        c.phaseSince = now;
        record(
          'Warning',
          'Failed',
          `Failed to pull image "${c.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": not found`,
        );
        return false;
      }
      record('Normal', 'Pulled', `Successfully pulled image "${c.image}"`);
      startContainer(ctx, pod, spec, c, rt);
      return false;
    }
    case 'pullBackOff':
      record('Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
      return false;
    case 'configError':
      if (now - c.phaseSince >= 10_000) startContainer(ctx, pod, spec, c, rt);
      return false;
    case 'backoff':
      if (now >= c.backoffUntil) startContainer(ctx, pod, spec, c, rt);
      return false;
    case 'running':
      return true;
  }
}

const DEFAULT_BEHAVIOUR = Behaviour.parse({});
const NO_WORKLOAD_FAULTS = { leakPerSecond: 0, extraCpu: NO_CPU_HOG, diskFillPerSecond: 0 };

/** One tick of a running process: crashes, memory (leaks, heap), CPU demand, disk writes, OOM, readiness. */
function runProcess(step: ContainerStep, dtMs: number): void {
  const { ctx, pod, spec, c, rt } = step;
  const {
    memoryLeakPerSecond = 0,
    heapBytes = 0,
    cpuMultiplier = 1,
    crashAfterSeconds = Infinity,
  } = imageBehaviour(ctx, c.image);
  const w = rt.workload ? ctx.workloads.get(rt.workload) : undefined;
  const b = w?.behaviour ?? DEFAULT_BEHAVIOUR;
  const faults = w ?? NO_WORKLOAD_FAULTS;
  const runningFor = (ctx.clock.epochMs - c.startedAt) / 1000;
  if (
    (c.pendingCrash !== undefined && runningFor >= 1) ||
    runningFor >= crashAfterSeconds ||
    (step.volumeFull && runningFor >= 1)
  ) {
    return terminate(ctx, pod, c, rt, 'Error', 1);
  }
  const seconds = dtMs / 1000;
  c.leaked += (memoryLeakPerSecond + faults.leakPerSecond) * seconds;
  const baseMemory = b.memory + b.memoryPerRps * rt.rps;
  c.memory = Math.max(heapBytes, baseMemory * (1 + (b.noise / 4) * gaussian(ctx.random))) + c.leaked;
  const demand = (b.cpu + b.cpuPerRps * rt.rps) * cpuMultiplier;
  const now = ctx.clock.epochMs;
  const hogs = hogCores(faults.extraCpu, now) + hogCores(rt.injected.cpu, now);
  c.cpu = demand * Math.max(0.2, 1 + b.noise * gaussian(ctx.random)) + hogs;
  c.ephemeral += (b.ephemeralWritePerSecond + faults.diskFillPerSecond + rt.injected.diskPerSecond) * seconds;
  const memLimit = parseQuantity(spec.resources?.limits?.['memory']);
  if (memLimit !== undefined && c.memory > memLimit) return terminate(ctx, pod, c, rt, 'OOMKilled', 137);
  c.ready = runningFor >= b.startupSeconds;
}

/** Keys (`volumeKey`) of the PersistentVolumeClaims a pod mounts. */
export function claimsOf(pod: KubeObject | undefined): string[] {
  const volumes = field<{ persistentVolumeClaim?: { claimName?: string } }[]>(pod, 'spec.volumes') ?? [];
  const out: string[] = [];
  for (const v of volumes) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (claim && pod) out.push(volumeKey(pod.metadata.namespace ?? 'default', claim));
  }
  return out;
}

/** What a claim's volume holds: the capacity its status reports (undefined while unbound). */
export function volumeCapacity(ctx: SimContext, v: VolumeRuntime): number | undefined {
  const pvc = ctx.cluster.store.peek('/persistentvolumeclaims', v.namespace, v.name);
  return parseQuantity(field<string>(pvc, 'status.capacity.storage'));
}

/** Step every container of a pod bound to a live node; returns whether one of them runs. */
function stepPod(
  ctx: SimContext,
  pod: KubeObject,
  rt: PodRuntime,
  dtMs: number,
  volumeFull: boolean,
): boolean {
  const specs = field<ContainerSpec[]>(pod, 'spec.containers') ?? [];
  let running = false;
  specs.forEach((spec, i) => {
    const c = rt.containers[i];
    if (!c) return;
    const step = { ctx, pod, spec, c, rt, volumeFull };
    if (advanceLifecycle(step)) runProcess(step, dtMs);
    running ||= c.phase === 'running';
  });
  return running;
}

/**
 * Volumes fill while a pod that mounts them runs (the workload's writes and a volume-fill fault's),
 * up to their capacity; a claim grown by an expansion has room again.
 */
function fillVolumes(ctx: SimContext, written: Set<string>, dtMs: number): void {
  for (const key of written) {
    const v = ctx.volumes.get(key);
    const capacity = v && volumeCapacity(ctx, v);
    if (!v || capacity === undefined) continue;
    v.used = Math.min(capacity, v.used + ((v.writePerSecond + v.fillPerSecond) * dtMs) / 1000);
  }
}

/** Volumes with no space left: the pods that mount them fail their writes and crash. */
function fullVolumes(ctx: SimContext): Set<string> {
  const full = new Set<string>();
  for (const [key, v] of ctx.volumes) {
    const capacity = volumeCapacity(ctx, v);
    if (capacity !== undefined && v.used >= capacity) full.add(key);
  }
  return full;
}

/**
 * The kubelet evicts a pod: phase Failed, reason Evicted, a Warning event with the message. Its
 * controller, if any, replaces it; the pod's usage no longer counts on the node.
 */
export function evictPod(ctx: SimContext, pod: KubeObject, rt: PodRuntime, message: string): void {
  rt.evicted = true;
  ctx.counters.evictions++;
  ctx.events.record(pod, 'Warning', 'Evicted', message, 'kubelet', rt.node);
  const c = ctx.cluster;
  c.update(
    c.kind('v1', 'Pod'),
    {
      ...structuredClone(pod),
      status: {
        ...(pod['status'] as object),
        phase: 'Failed',
        reason: 'Evicted',
        message,
        conditions: [{ type: 'Ready', status: 'False', reason: 'PodFailed' }],
      },
    },
    { subresource: 'status' },
  );
}

/** Ephemeral-storage limit exceeded: the kubelet evicts the pod. */
function evictForStorage(ctx: SimContext, pod: KubeObject, rt: PodRuntime): boolean {
  const specs = field<ContainerSpec[]>(pod, 'spec.containers') ?? [];
  const limit = specs.reduce(
    (s, c) => s + (parseQuantity(c.resources?.limits?.['ephemeral-storage']) ?? Infinity),
    0,
  );
  const used = rt.containers.reduce((s, c) => s + c.ephemeral, 0);
  if (!Number.isFinite(limit) || used <= limit) return false;
  const total = specs.map((c) => c.resources?.limits?.['ephemeral-storage']).find(Boolean) ?? '';
  evictPod(ctx, pod, rt, `Pod ephemeral local storage usage exceeds the total limit of containers ${total}.`);
  return true;
}

/** Run the kubelets: every bound pod on a live node is stepped and its status written when it changed. */
export function runKubelets(ctx: SimContext, dtMs: number, nodeUp: (name: string) => boolean): void {
  const c = ctx.cluster;
  const podType = c.kind('v1', 'Pod');
  const live = new Set<string>();
  const full = fullVolumes(ctx);
  const written = new Set<string>();
  for (const pod of c.store.scan('/pods')) {
    const uid = pod.metadata.uid ?? '';
    live.add(uid);
    const nodeName = field<string>(pod, 'spec.nodeName');
    if (!nodeName || ['Failed', 'Succeeded'].includes(field<string>(pod, 'status.phase') ?? '')) continue;
    const rt = runtimeFor(ctx, pod);
    rt.node = nodeName;
    if (!nodeUp(nodeName)) continue; // A dead node's kubelet writes nothing.
    const claims = claimsOf(pod);
    const volumeFull = claims.some((k) => full.has(k));
    if (stepPod(ctx, pod, rt, dtMs, volumeFull)) for (const claim of claims) written.add(claim);
    if (evictForStorage(ctx, pod, rt)) continue;
    const status = renderStatus(ctx, pod, rt);
    const json = JSON.stringify(status);
    if (json !== rt.lastStatusJson) {
      rt.lastStatusJson = json;
      const fresh = c.store.peek('/pods', pod.metadata.namespace, pod.metadata.name);
      if (fresh) c.update(podType, { ...structuredClone(fresh), status }, { subresource: 'status' });
    }
  }
  for (const uid of ctx.pods.keys()) if (!live.has(uid)) ctx.pods.delete(uid);
  fillVolumes(ctx, written, dtMs);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function renderStatus(ctx: SimContext, pod: KubeObject, rt: PodRuntime): Record<string, unknown> {
  const created = Date.parse(pod.metadata.creationTimestamp ?? '') || ctx.clock.epochMs;
  const statuses = rt.containers.map((c) => {
    let state: Record<string, unknown>;
    if (c.phase === 'running') state = { running: { startedAt: iso(c.startedAt) } };
    else if (c.phase === 'backoff')
      state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.round((c.backoffUntil - c.phaseSince) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}`,
        },
      };
    else if (c.phase === 'pullBackOff')
      state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } };
    else if (c.phase === 'configError')
      state = { waiting: { reason: 'CreateContainerConfigError', message: 'configmap not found' } };
    else state = { waiting: { reason: 'ContainerCreating' } };
    return {
      name: c.name,
      image: c.image,
      imageID: '',
      containerID: c.startedAt
        ? `containerd://${rt.uid.replace(/-/g, '').slice(0, 16)}${c.restartCount}`
        : '',
      ready: c.ready,
      started: c.phase === 'running',
      restartCount: c.restartCount,
      state,
      ...(c.lastTermination
        ? {
            lastState: {
              terminated: {
                reason: c.lastTermination.reason,
                exitCode: c.lastTermination.exitCode,
                finishedAt: iso(c.lastTermination.at),
              },
            },
          }
        : {}),
    };
  });
  const allReady = rt.containers.length > 0 && rt.containers.every((c) => c.ready);
  const anyRunning = rt.containers.some((c) => c.phase === 'running' || c.phase === 'backoff');
  const hostIndex = [...ctx.nodes.keys()].indexOf(rt.node ?? '') + 1;
  const podIndex = [...rt.uid].reduce((s, ch) => (s * 31 + ch.charCodeAt(0)) % 250, 7) + 2;
  return {
    phase: anyRunning ? 'Running' : 'Pending',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: iso(created) },
      { type: 'Initialized', status: 'True', lastTransitionTime: iso(created) },
      { type: 'ContainersReady', status: allReady ? 'True' : 'False' },
      { type: 'Ready', status: allReady ? 'True' : 'False' },
    ],
    hostIP: `10.0.${Math.floor(hostIndex / 250)}.${hostIndex % 250}`,
    podIP: `10.244.${hostIndex % 250}.${podIndex}`,
    startTime: iso(created),
    qosClass: field<string>(pod, 'status.qosClass') ?? 'BestEffort',
    containerStatuses: statuses,
  };
}
