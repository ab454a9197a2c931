import { z } from 'zod';
import { isKnownValidMetricsData } from './metrics-check.js';
import {
  ActionSpec,
  FaultClass,
  METRICS_SOURCES,
  Mode,
  ObjectRef,
  Severity,
  SIGNAL_MAX_LENGTH,
  Timestamp,
  UNIT_MAX_LENGTH,
} from './common.js';

/** Event types kurative emits. */
export const EVENT_TYPES = {
  metrics: 'dev.kurative.metrics.v1',
  anomaly: 'dev.kurative.anomaly.v1',
  diagnosis: 'dev.kurative.diagnosis.v1',
  decision: 'dev.kurative.decision.v1',
  remediation: 'dev.kurative.remediation.v1',
  ping: 'dev.knative.sources.ping',
  tick: 'dev.kurative.tick.v1',
  apiServerAdd: 'dev.knative.apiserver.resource.add',
  apiServerUpdate: 'dev.knative.apiserver.resource.update',
  apiServerDelete: 'dev.knative.apiserver.resource.delete',
} as const;

const finite = z.number().finite();

/** One observation of one signal on one object. */
export const Sample = z
  .object({
    entity: ObjectRef,
    signal: z.string().min(1).max(SIGNAL_MAX_LENGTH),
    value: finite,
    unit: z.string().max(UNIT_MAX_LENGTH).optional(),
    at: Timestamp,
    /** The configured limit of the resource, when it has one (memory limit, disk capacity...). */
    limit: finite.positive().optional(),
    request: finite.nonnegative().optional(),
    /** The object's labels, for Detector label selectors. */
    labels: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type Sample = z.infer<typeof Sample>;

/** dev.kurative.metrics.v1: one bounded batch of a scrape. */
export const MetricsData = z
  .object({
    scrapeId: z.string().min(1),
    scrapedAt: Timestamp,
    source: z.enum(METRICS_SOURCES),
    batch: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).strict(),
    samples: z.array(Sample),
  })
  .strict()
  .refine((d) => d.batch.index < d.batch.count, { message: 'batch.index must be < batch.count' });
export type MetricsData = z.infer<typeof MetricsData>;

/** dev.kurative.anomaly.v1: one abnormal signal on one entity. */
export const AnomalyData = z
  .object({
    anomalyId: z.string().min(1),
    entity: ObjectRef,
    signal: z.string().min(1),
    kind: z.enum(['deviation', 'forecast', 'symptom']),
    detector: z.string().min(1),
    score: finite.min(0),
    threshold: finite.min(0),
    severity: Severity,
    value: finite.optional(),
    baseline: z.object({ level: finite, spread: finite.nonnegative() }).strict().optional(),
    onset: Timestamp,
    observedAt: Timestamp,
    forecast: z
      .object({ limit: finite, predictedAt: Timestamp, secondsToLimit: finite.nonnegative() })
      .strict()
      .optional(),
    reason: z.string().optional(),
    message: z.string().optional(),
  })
  .strict();
export type AnomalyData = z.infer<typeof AnomalyData>;

export const Evidence = z
  .object({
    object: ObjectRef,
    kind: z.enum(['metric', 'event', 'change', 'topology', 'status']),
    at: Timestamp,
    description: z.string().min(1),
    value: finite.optional(),
    baseline: finite.optional(),
  })
  .strict();
export type Evidence = z.infer<typeof Evidence>;

export const Candidate = z
  .object({ object: ObjectRef, faultClass: FaultClass, confidence: finite.min(0).max(1), score: finite })
  .strict();
export type Candidate = z.infer<typeof Candidate>;

export const PathStep = z
  .object({
    from: ObjectRef,
    to: ObjectRef,
    relation: z.string().min(1),
    evidence: z.array(z.number().int()),
  })
  .strict();
export type PathStep = z.infer<typeof PathStep>;

/** dev.kurative.diagnosis.v1: the ranked root cause of one incident. */
export const DiagnosisData = z
  .object({
    incidentId: z.string().min(1),
    diagnosedAt: Timestamp,
    severity: Severity,
    candidates: z.array(Candidate).min(1),
    causalPath: z.array(PathStep),
    evidence: z.array(Evidence),
    explanation: z.string().min(1),
    recommendedActions: z.array(ActionSpec),
    anomalyIds: z.array(z.string()),
    /**
     * The incident's revision this diagnosis saw (it grows with every anomaly the incident joins).
     * Diagnoses are delivered concurrently and may arrive out of order: a lower one is stale.
     */
    sequence: z.number().int().positive().optional(),
  })
  .strict();
export type DiagnosisData = z.infer<typeof DiagnosisData>;

export const Verdict = z.enum(['approved', 'denied', 'pendingApproval', 'observed']);
export type Verdict = z.infer<typeof Verdict>;

/** dev.kurative.decision.v1: what policy allowed or denied, and the rule that said so. */
export const DecisionData = z
  .object({
    incidentId: z.string().min(1),
    decisionId: z.string().min(1),
    decidedAt: Timestamp,
    mode: Mode,
    verdict: Verdict,
    action: ActionSpec,
    rule: z.object({ policy: z.string(), name: z.string().min(1), reason: z.string().min(1) }).strict(),
    dryRun: z.boolean(),
    step: z.number().int().nonnegative().default(0),
    /** When act checks the outcome against fresh signals (seconds after the action). */
    verifyAfterSeconds: finite.positive().optional(),
    /** pendingApproval: when an approval stops counting. */
    expiresAt: Timestamp.optional(),
  })
  .strict();
export type DecisionData = z.infer<typeof DecisionData>;

/** dev.kurative.remediation.v1: what act did and how it turned out. */
export const RemediationData = z
  .object({
    incidentId: z.string().min(1),
    decisionId: z.string().min(1),
    action: ActionSpec,
    status: z.enum(['succeeded', 'failed', 'skipped', 'dryRun', 'verified', 'unresolved']),
    at: Timestamp,
    message: z.string(),
    dryRun: z.boolean(),
    changes: z.array(z.string()).default([]),
  })
  .strict();
export type RemediationData = z.infer<typeof RemediationData>;

/**
 * dev.kurative.tick.v1: scrape's follow-up of a cron tick while some Incident is still open, so act
 * verifies actions and closes quiet incidents on schedule — and stays scaled to zero otherwise.
 */
export const TickData = z
  .object({
    at: Timestamp,
    /** Incidents not yet Resolved or Escalated; absent when scrape could not list them (it ticks anyway). */
    openIncidents: z.number().int().nonnegative().optional(),
  })
  .strict();
export type TickData = z.infer<typeof TickData>;

/** dev.knative.sources.ping: PingSource's data is whatever the source was configured with. */
export const PingData = z.unknown();
export type PingData = z.infer<typeof PingData>;

/** ApiServerSource Resource mode: data is the whole object. */
export const KubeObjectData = z
  .object({
    apiVersion: z.string().min(1),
    kind: z.string().min(1),
    metadata: z
      .object({
        name: z.string().min(1),
        namespace: z.string().optional(),
        uid: z.string().optional(),
        resourceVersion: z.string().optional(),
      })
      .passthrough(),
  })
  .passthrough();
export type KubeObjectData = z.infer<typeof KubeObjectData>;

/** The data schema for every event type the functions accept or emit. */
export const DATA_SCHEMAS = {
  [EVENT_TYPES.metrics]: MetricsData,
  [EVENT_TYPES.anomaly]: AnomalyData,
  [EVENT_TYPES.diagnosis]: DiagnosisData,
  [EVENT_TYPES.decision]: DecisionData,
  [EVENT_TYPES.remediation]: RemediationData,
  [EVENT_TYPES.ping]: PingData,
  [EVENT_TYPES.tick]: TickData,
  [EVENT_TYPES.apiServerAdd]: KubeObjectData,
  [EVENT_TYPES.apiServerUpdate]: KubeObjectData,
  [EVENT_TYPES.apiServerDelete]: KubeObjectData,
} as const;
export type EventType = keyof typeof DATA_SCHEMAS;
export type EventData<T extends EventType> = z.infer<(typeof DATA_SCHEMAS)[T]>;

/**
 * Fast checks that some data is certainly valid for its type (metrics-check.ts): true skips the
 * schema (the data is what it would return); false means ask the schema, for its verdict and reasons.
 */
export const KNOWN_VALID: Partial<Record<EventType, (data: unknown) => boolean>> = {
  [EVENT_TYPES.metrics]: isKnownValidMetricsData,
};

/**
 * Check an event's data against its type's contract: as the schema does, through the fast check
 * when it vouches for the data (the data is then returned as is).
 */
export function checkEventData(
  type: EventType,
  data: unknown,
): { success: true; data: unknown } | { success: false; error: z.ZodError } {
  if (KNOWN_VALID[type]?.(data)) return { success: true, data };
  return DATA_SCHEMAS[type].safeParse(data);
}

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(DATA_SCHEMAS, type);
}

/** Attributes every incoming CloudEvent must carry (CloudEvents 1.0 §3.1 plus our extensions). */
export const EventAttributes = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1).max(512),
    source: z.string().min(1).max(2048),
    type: z.string().min(1).max(256),
    subject: z.string().max(2048).optional(),
    time: z.string().optional(),
    datacontenttype: z.string().optional(),
    incidentid: z.string().max(256).optional(),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional(),
  })
  .passthrough();
