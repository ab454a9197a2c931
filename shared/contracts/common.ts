import { z } from 'zod';

/** A reference to one Kubernetes object (or a container inside a pod). */
export const ObjectRef = z
  .object({
    apiVersion: z.string().min(1).optional(),
    kind: z.string().min(1),
    namespace: z.string().min(1).optional(),
    name: z.string().min(1),
    uid: z.string().min(1).optional(),
    container: z.string().min(1).optional(),
  })
  .strict();
export type ObjectRef = z.infer<typeof ObjectRef>;

/** RFC 3339 timestamp as sent on the wire. */
export const Timestamp = z.iso.datetime({ offset: true });

// Bounds of a metrics sample, shared by its schema (events.ts) and its fast check (metrics-check.ts).
/** Where a metrics batch's samples came from. */
export const METRICS_SOURCES = ['metrics.k8s.io', 'prometheus', 'api', 'mixed'] as const;
/** Longest signal name and unit a sample may carry. */
export const SIGNAL_MAX_LENGTH = 200;
export const UNIT_MAX_LENGTH = 32;

export const FUNCTION_NAMES = ['scrape', 'score', 'rca', 'policy', 'act'] as const;
export const FunctionName = z.enum(FUNCTION_NAMES);
export type FunctionName = z.infer<typeof FunctionName>;

export const MODES = ['observe', 'dryRun', 'enforce'] as const;
export const Mode = z.enum(MODES);
export type Mode = z.infer<typeof Mode>;

/**
 * Fault classes. Named after the LitmusChaos experiment catalogue where one fits,
 * plus the configuration faults people hit in practice and `benign`.
 */
export const FAULT_CLASSES = [
  'pod-memory-hog',
  'pod-cpu-hog',
  'pod-delete',
  'container-kill',
  'pod-network-latency',
  'pod-network-loss',
  'disk-fill',
  'node-drain',
  'node-failure',
  'node-cpu-hog',
  'node-memory-hog',
  'noisy-neighbour',
  'bad-rollout',
  'config-change',
  'resource-misconfiguration',
  'scheduling-constraint',
  'quota-exceeded',
  'image-pull',
  'security-threat',
  'benign',
  'unknown',
] as const;
export const FaultClass = z.enum(FAULT_CLASSES);
export type FaultClass = z.infer<typeof FaultClass>;

/** Remediation actions that act knows how to perform. */
export const ACTION_TYPES = [
  'restartPod',
  'evictPod',
  'cordonNode',
  'moveOffNode',
  'drainNode',
  'adjustResources',
  'expandVolume',
  'scaleWorkload',
  'rollbackDeployment',
  'quarantinePod',
  'notify',
] as const;
export const ActionType = z.enum(ACTION_TYPES);
export type ActionType = z.infer<typeof ActionType>;

export const Severity = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof Severity>;

/** One action with its target and parameters (bounded, JSON-safe). */
export const ActionSpec = z
  .object({
    type: ActionType,
    target: ObjectRef,
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    reason: z.string().default(''),
  })
  .strict();
export type ActionSpec = z.infer<typeof ActionSpec>;
