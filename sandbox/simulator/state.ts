import type { Cluster } from '../apiserver/cluster.js';
import type { KubeObject } from '../apiserver/types.js';
import type { SimClock } from '../clock.js';
import type { EventRecorder } from './events.js';
import type { Behaviour, ImageBehaviour, Scenario } from './scenario.js';

export type ContainerPhase = 'pulling' | 'pullBackOff' | 'running' | 'backoff' | 'configError';

/** What the simulated kubelet knows about one container. */
export interface ContainerRuntime {
  readonly name: string;
  image: string;
  phase: ContainerPhase;
  phaseSince: number;
  startedAt: number;
  restartCount: number;
  backoffUntil: number;
  lastTermination: { reason: string; exitCode: number; at: number } | undefined;
  memory: number;
  cpu: number;
  ephemeral: number;
  leaked: number;
  ready: boolean;
  /** Crash reason decided at start (config invalid), or undefined. */
  pendingCrash: string | undefined;
}

/** Simulated runtime of one pod (kubelet + application state). */
export interface PodRuntime {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly workload: string | undefined;
  node: string | undefined;
  containers: ContainerRuntime[];
  rps: number;
  saturation: number;
  /**
   * Run-queue delay on an overcommitted node, in [0, 1): the share of this pod's requests that
   * wait too long for a CPU (0 while its node has CPU to spare).
   */
  queueing: number;
  evicted: boolean;
  lastStatusJson: string;
  /** Faults injected into this pod (LitmusChaos-style: they go away when the pod is replaced). */
  injected: { cpu: CpuHog; latencyMs: number; diskPerSecond: number };
}

/** CPU a fault adds: `cores`, reached at once or, with `overMs`, linearly from `since` (a growing job). */
export interface CpuHog {
  cores: number;
  since: number;
  overMs: number;
}

export const NO_CPU_HOG: CpuHog = Object.freeze({ cores: 0, since: 0, overMs: 0 });

/** The cores a hog adds at `now`. */
export function hogCores(hog: CpuHog, now: number): number {
  if (hog.overMs <= 0) return hog.cores;
  return hog.cores * Math.min(1, Math.max(0, (now - hog.since) / hog.overMs));
}

export interface NodeRuntime {
  readonly name: string;
  up: boolean;
  downSince: number | undefined;
  notReadySince: number | undefined;
  lastHeartbeatWrite: number;
  cpuUsed: number;
  memoryUsed: number;
  /** Whether the node's MemoryPressure condition is True. */
  memoryPressure: boolean;
  /** Since when available memory is back above the eviction threshold, while under pressure. */
  memoryRelievedSince: number | undefined;
  /** The eviction manager's last memory eviction on this node. */
  lastMemoryEviction: number;
}

/** App-level signals of a workload at the current tick (what Prometheus would scrape). */
export interface WorkloadSignals {
  rps: number;
  errorRatio: number;
  latencyMs: number;
  readyReplicas: number;
  desiredReplicas: number;
}

export interface WorkloadRuntime {
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  behaviour: Behaviour;
  signals: WorkloadSignals;
  extraLatencyMs: number;
  extraCpu: CpuHog;
  leakPerSecond: number;
  diskFillPerSecond: number;
}

/** A PersistentVolumeClaim's simulated contents (its capacity is the claim's status). */
export interface VolumeRuntime {
  readonly namespace: string;
  readonly name: string;
  used: number;
  /** The workload's own writes, and a volume-fill fault's. */
  writePerSecond: number;
  fillPerSecond: number;
}

export interface SimContext {
  readonly cluster: Cluster;
  readonly clock: SimClock;
  readonly random: () => number;
  readonly events: EventRecorder;
  readonly scenario: Scenario;
  readonly pods: Map<string, PodRuntime>;
  readonly nodes: Map<string, NodeRuntime>;
  readonly workloads: Map<string, WorkloadRuntime>;
  /** PersistentVolumeClaims the workloads mount, by `namespace/name`. */
  readonly volumes: Map<string, VolumeRuntime>;
  /** Last rollout progress per Deployment (progressDeadlineSeconds). */
  readonly rolloutProgress: Map<string, { signature: string; at: number }>;
  trafficMultiplier: number;
  trafficUntil: number;
  /** Per-tick increments the outcome tracker reads. */
  readonly counters: { oomKills: number; restarts: number; evictions: number; crashes: number };
}

export const workloadKey = (namespace: string, name: string) => `${namespace}/${name}`;
/** Key of a claim in `SimContext.volumes`. */
export const volumeKey = (namespace: string, name: string) => `${namespace}/${name}`;

export function imageBehaviour(ctx: SimContext, image: string): ImageBehaviour {
  return ctx.scenario.images[image] ?? {};
}

export type Obj = KubeObject;

/** Read a nested field without caring about types (objects are plain JSON). */
export function field<T>(o: unknown, path: string): T | undefined {
  let v: unknown = o;
  for (const k of path.split('.'))
    v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v as T | undefined;
}
