import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ActionType, FaultClass, ObjectRef } from '../../shared/contracts/index.js';
import { parseQuantity } from '../apiserver/quantity.js';
import { parseDuration } from '../../shared/duration/index.js';

export { parseDuration };

const Duration = z.string().transform((s, ctx) => {
  try {
    return parseDuration(s);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
    return z.NEVER;
  }
});
const Quantity = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const q = parseQuantity(v);
  if (q === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid quantity ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return q;
});
const ResourceList = z.record(z.string(), z.string());

/** How a container image behaves when it runs (the simulated application). */
export const ImageBehaviour = z
  .object({
    /** Exit with an error this many seconds after start (a crash on start when small). */
    crashAfterSeconds: z.number().positive().optional(),
    /** Memory growth in bytes per second while running (a leak). */
    memoryLeakPerSecond: Quantity.optional(),
    /** Fixed memory the process takes at start, e.g. a JVM heap (-Xms). */
    heapBytes: Quantity.optional(),
    cpuMultiplier: z.number().positive().optional(),
    /** Extra share of requests that fail. */
    errorRate: z.number().min(0).max(1).optional(),
    /** The image cannot be pulled (ImagePullBackOff). */
    pullFails: z.boolean().optional(),
    /** Extra latency in ms per request. */
    latencyMs: z.number().min(0).optional(),
  })
  .strict();
export type ImageBehaviour = z.infer<typeof ImageBehaviour>;

/** How a workload's processes use resources and serve traffic. */
export const Behaviour = z
  .object({
    cpu: Quantity.default(0.05),
    memory: Quantity.default(64 * 2 ** 20),
    /** Requests per second across the workload at the daily mean. */
    rps: z.number().min(0).default(0),
    cpuPerRps: z.number().min(0).default(0.001),
    memoryPerRps: Quantity.default(0),
    latencyMs: z.number().min(0).default(20),
    /** Relative amplitude of the daily cycle (0 = flat). */
    dailyAmplitude: z.number().min(0).max(1).default(0.3),
    noise: z.number().min(0).max(1).default(0.05),
    /** Services this workload calls (names in the same namespace). */
    dependsOn: z.array(z.string()).default([]),
    /** Seconds from container start to ready. */
    startupSeconds: z.number().min(0).default(5),
    /** Config keys the process validates at start: a value that fails the pattern makes it crash. */
    config: z.object({ configMap: z.string(), key: z.string(), pattern: z.string() }).strict().optional(),
    ephemeralWritePerSecond: Quantity.default(0),
  })
  .strict();
export type Behaviour = z.infer<typeof Behaviour>;

export const WorkloadSpec = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    namespace: z.string().default('default'),
    kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']).default('Deployment'),
    replicas: z.number().int().min(0).default(1),
    image: z.string().default('registry.local/app:1.0'),
    requests: ResourceList.optional(),
    limits: ResourceList.optional(),
    env: z.array(z.object({ name: z.string(), value: z.string() }).strict()).default([]),
    configMap: z.string().optional(),
    nodeSelector: z.record(z.string(), z.string()).optional(),
    tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
    affinity: z.record(z.string(), z.unknown()).optional(),
    labels: z.record(z.string(), z.string()).default({}),
    behaviour: Behaviour.default(Behaviour.parse({})),
    hpa: z
      .object({
        min: z.number().int().min(1),
        max: z.number().int().min(1),
        cpuUtilization: z.number().int().min(1).max(100),
      })
      .strict()
      .optional(),
    pdb: z
      .object({
        minAvailable: z.union([z.number().int(), z.string()]).optional(),
        maxUnavailable: z.union([z.number().int(), z.string()]).optional(),
      })
      .strict()
      .optional(),
    priority: z.enum(['critical', 'normal']).default('normal'),
    /**
     * A PersistentVolumeClaim the workload's pods mount at /data (created Bound, with its capacity):
     * `used` bytes at start, growing by `writePerSecond` while a pod that mounts it runs.
     */
    volume: z
      .object({
        claim: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
        size: z.string().default('10Gi'),
        storageClass: z.string().default('standard'),
        used: Quantity.default(0),
        writePerSecond: Quantity.default(0),
      })
      .strict()
      .optional(),
  })
  .strict();
export type WorkloadSpec = z.infer<typeof WorkloadSpec>;

export const NodePool = z
  .object({
    prefix: z.string().default('node'),
    count: z.number().int().min(1).max(5000).default(3),
    cpu: z.string().default('4'),
    memory: z.string().default('16Gi'),
    ephemeralStorage: z.string().default('100Gi'),
    pods: z.number().int().min(1).default(110),
    labels: z.record(z.string(), z.string()).default({}),
    taints: z
      .array(z.object({ key: z.string(), value: z.string().optional(), effect: z.string() }).strict())
      .default([]),
  })
  .strict();

export const FAULT_TYPES = [
  'memory-leak',
  'cpu-hog',
  'rollout',
  'config-edit',
  'node-failure',
  'node-recover',
  'network-latency',
  'disk-fill',
  'volume-fill',
  'traffic',
  'patch',
  'delete',
  'delete-pod',
  'create',
] as const;

/** One injection at a time: what changes in the cluster or in the simulated applications. */
export const Fault = z
  .object({
    at: Duration,
    type: z.enum(FAULT_TYPES),
    target: ObjectRef.optional(),
    /** For traffic: multiplier and how long it lasts. For leaks/hogs and disk/volume fills: rate or cores. */
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** For rollout/patch: a strategic merge patch (lists merge by key, e.g. containers by name); config-edit: a merge patch; create: the object. */
    patch: z.record(z.string(), z.unknown()).optional(),
    object: z.record(z.string(), z.unknown()).optional(),
    /** Who made the change (shown as the change's author in Events). */
    description: z.string().optional(),
  })
  .strict()
  .superRefine((fault, ctx) => {
    // Durations in params (a hog's `over`, a traffic change's `for`) are checked when the scenario
    // loads, not when the fault fires halfway through a run.
    for (const name of ['over', 'for']) {
      const value = fault.params[name];
      if (value === undefined) continue;
      try {
        parseDuration(String(value));
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['params', name], message: (e as Error).message });
      }
    }
  });
export type Fault = z.infer<typeof Fault>;

/** What really happened: what a perfect kurative would find and do. */
export const GroundTruth = z
  .object({
    rootCause: ObjectRef.optional(),
    faultClass: FaultClass,
    /** Acceptable first actions, best first. */
    actions: z.array(ActionType).default([]),
    actionWanted: z.boolean(),
    /** When the failure (outage, OOM, crash) would start without remediation. */
    failureAt: Duration.optional(),
    notes: z.string().optional(),
  })
  .strict();
export type GroundTruth = z.infer<typeof GroundTruth>;

export const Scenario = z
  .object({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/),
    description: z.string(),
    /** LitmusChaos experiment this scenario corresponds to, when one does. */
    litmus: z.string().optional(),
    benign: z.boolean().default(false),
    seed: z.number().int().default(1),
    duration: Duration.default(parseDuration('2h')),
    tick: Duration.default(parseDuration('10s')),
    start: z.string().optional(),
    cluster: z
      .object({
        nodePools: z.array(NodePool).default([NodePool.parse({})]),
        namespaces: z.array(z.string()).default([]),
        objects: z.array(z.record(z.string(), z.unknown())).default([]),
      })
      .strict()
      .default({ nodePools: [NodePool.parse({})], namespaces: [], objects: [] }),
    images: z.record(z.string(), ImageBehaviour).default({}),
    workloads: z.array(WorkloadSpec).default([]),
    faults: z.array(Fault).default([]),
    truth: GroundTruth,
  })
  .strict();
export type Scenario = z.infer<typeof Scenario>;

/** Parse and validate one scenario document (YAML or JSON text). */
export function parseScenario(text: string, origin = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new Error(`${origin}: not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const parsed = Scenario.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${origin}: invalid scenario: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Load every `*.yaml`/`*.yml`/`*.json` scenario in a directory, sorted by name. */
export function loadScenarios(dir: string): Scenario[] {
  const files = readdirSync(dir)
    .filter((f) => ['.yaml', '.yml', '.json'].includes(extname(f)))
    .sort();
  const scenarios = files.map((f) => parseScenario(readFileSync(join(dir, f), 'utf8'), basename(f)));
  const names = new Set<string>();
  for (const s of scenarios) {
    if (names.has(s.name)) throw new Error(`duplicate scenario name ${s.name} in ${dir}`);
    names.add(s.name);
  }
  return scenarios.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A bigger copy of a scenario for benchmarks: every node pool `nodeFactor` times larger, and the
 * workloads (with their namespaced objects) repeated in `copies − 1` extra namespaces named
 * `<namespace>-<i>`. Faults and ground truth keep pointing at the original namespace.
 */
export function scaleScenario(scenario: Scenario, options: { copies: number; nodeFactor: number }): Scenario {
  const copies = Math.max(1, Math.floor(options.copies));
  const nodeFactor = Math.max(1, Math.floor(options.nodeFactor));
  const renamed = (ns: string | undefined, i: number) => (ns === undefined || i === 0 ? ns : `${ns}-${i}`);
  const workloads: WorkloadSpec[] = [];
  const objects: Record<string, unknown>[] = [...scenario.cluster.objects];
  const namespaces = new Set(scenario.cluster.namespaces);
  for (let i = 1; i < copies; i++) {
    for (const w of scenario.workloads) {
      const namespace = renamed(w.namespace, i) ?? w.namespace;
      namespaces.add(namespace);
      workloads.push({ ...w, namespace });
    }
    for (const o of scenario.cluster.objects) {
      const meta = (o['metadata'] ?? {}) as { namespace?: string };
      if (meta.namespace)
        objects.push({ ...o, metadata: { ...meta, namespace: renamed(meta.namespace, i) } });
    }
  }
  return {
    ...scenario,
    cluster: {
      ...scenario.cluster,
      namespaces: [...namespaces],
      nodePools: scenario.cluster.nodePools.map((p) => ({ ...p, count: p.count * nodeFactor })),
      objects,
    },
    workloads: [...scenario.workloads, ...workloads],
  };
}

/** Copies and node factor that bring a scenario close to `pods` pods on `nodes` nodes. */
export function scaleTo(scenario: Scenario, target: { pods: number; nodes: number }): Scenario {
  const pods = scenario.workloads.reduce((s, w) => s + (w.kind === 'DaemonSet' ? 0 : w.replicas), 0);
  const nodes = scenario.cluster.nodePools.reduce((s, p) => s + p.count, 0);
  return scaleScenario(scenario, {
    copies: Math.ceil(target.pods / Math.max(1, pods)),
    nodeFactor: Math.ceil(target.nodes / Math.max(1, nodes)),
  });
}
