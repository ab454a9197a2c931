import { z } from 'zod';
import { DURATION_PATTERN } from '../duration/index.js';

export const KURATIVE_GROUP = 'kurative.dev';
export const KURATIVE_VERSION = 'v1alpha1';
export const KURATIVE_API_VERSION = `${KURATIVE_GROUP}/${KURATIVE_VERSION}`;

const DurationText = z.string().regex(DURATION_PATTERN, 'a duration like 30s, 5m or 1h30m');

/** Built-in signals scrape produces from metrics.k8s.io and the pod API. */
export const BUILTIN_SIGNALS = [
  'memory_working_set_bytes',
  'cpu_usage_cores',
  'restarts_total',
  'ready',
  'node_memory_working_set_bytes',
  'node_cpu_usage_cores',
] as const;
export const BuiltinSignal = z.enum(BUILTIN_SIGNALS);

export const DETECTOR_ALGORITHMS = ['robust-deviation', 'forecast-limit'] as const;

/** A label selector (matchLabels only), as Detectors and RemediationPolicies scope by it. */
export const LabelSelector = z.object({ matchLabels: z.record(z.string(), z.string()).default({}) }).strict();

/** Detector.spec: what to watch and how sensitively. */
export const DetectorSpec = z
  .object({
    target: z
      .object({
        namespaces: z.array(z.string().min(1)).default([]),
        selector: LabelSelector.optional(),
        kinds: z.array(z.enum(['Pod', 'Node', 'Deployment', 'Service', 'PersistentVolumeClaim'])).default([]),
      })
      .strict()
      .default({ namespaces: [], kinds: [] }),
    signal: z
      .object({
        metric: BuiltinSignal.optional(),
        promql: z.string().min(1).max(2000).optional(),
        /** Name the series gets (required with promql). */
        name: z
          .string()
          .regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/)
          .optional(),
        /** Which direction is bad: up (default), down, or both. */
        direction: z.enum(['up', 'down', 'both']).default('up'),
        /**
         * With promql: a second query giving each series' limit (disk capacity, storage limit), for
         * forecast-limit. Its series are matched to the first query's by the object they name.
         */
        limitPromql: z.string().min(1).max(2000).optional(),
      })
      .strict()
      .refine((s) => (s.metric === undefined) !== (s.promql === undefined), {
        message: 'set exactly one of metric or promql',
      })
      .refine((s) => s.promql === undefined || s.name !== undefined, {
        message: 'name is required with promql',
      })
      .refine((s) => s.limitPromql === undefined || s.promql !== undefined, {
        message: 'limitPromql needs promql',
      }),
    algorithm: z.enum(DETECTOR_ALGORITHMS).default('robust-deviation'),
    /** 0 (only the most extreme) … 1 (most sensitive). */
    sensitivity: z.number().min(0).max(1).default(0.5),
    minDuration: DurationText.default('1m'),
    seasonality: z.enum(['none', 'daily', 'weekly']).default('none'),
    /** forecast-limit: how far ahead a breach must be predicted to fire. */
    horizon: DurationText.default('30m'),
    /** Smallest absolute change that matters (e.g. 0.05 for an error ratio): smaller ones never alert. */
    minChange: z.number().min(0).default(0),
  })
  .strict();
export type DetectorSpec = z.infer<typeof DetectorSpec>;

export const Condition = z
  .object({
    type: z.string(),
    status: z.enum(['True', 'False', 'Unknown']),
    reason: z.string(),
    message: z.string(),
    lastTransitionTime: z.string(),
    observedGeneration: z.number().int().optional(),
  })
  .strict();
export type Condition = z.infer<typeof Condition>;

export const INCIDENT_PHASES = [
  'Detected',
  'Diagnosed',
  'AwaitingApproval',
  'Mitigating',
  'Resolved',
  'Escalated',
] as const;

/** Incident.status: what kurative knows and did about one incident (written by rca, policy, act). */
export const IncidentStatus = z
  .object({
    phase: z.enum(INCIDENT_PHASES),
    severity: z.enum(['info', 'warning', 'critical']),
    startedAt: z.string(),
    lastSeenAt: z.string(),
    rootCause: z.string().optional(),
    rootCauseRef: z
      .object({
        apiVersion: z.string().optional(),
        kind: z.string(),
        namespace: z.string().optional(),
        name: z.string(),
      })
      .optional(),
    faultClass: z.string().optional(),
    confidence: z.number().min(0).max(1).optional(),
    anomalies: z.number().int().min(0),
    /** The incident revision the status was written from (a late, older diagnosis does not overwrite it). */
    revision: z.number().int().positive().optional(),
    affected: z.array(z.string()).default([]),
    explanation: z.string().optional(),
    causalPath: z.array(z.string()).default([]),
    evidence: z.array(z.string()).default([]),
    recommendedActions: z.array(z.string()).default([]),
    decision: z.string().optional(),
    action: z.string().optional(),
    outcome: z.string().optional(),
    resolvedAt: z.string().optional(),
    /** From the start of the incident to the verified recovery. */
    timeToRecoverSeconds: z.number().min(0).optional(),
    /** Decisions, actions and verifications in order, one line each (newest last, bounded). */
    history: z.array(z.string()).default([]),
    conditions: z.array(Condition).default([]),
  })
  .strict();
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** Incident.spec: nothing for users to set but the approval annotations; kept for future fields. */
export const IncidentSpec = z.object({ summary: z.string().optional() }).strict();
