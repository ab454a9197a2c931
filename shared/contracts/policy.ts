import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../duration/index.js';
import { parseQuantity } from '../quantity/index.js';
import { Mode } from './common.js';
import { Condition, LabelSelector } from './resources.js';

const DurationText = z.string().regex(DURATION_PATTERN, 'a duration like 30s, 5m or 1h30m');
const QuantityText = z
  .string()
  .refine((q) => parseQuantity(q) !== undefined && (parseQuantity(q) ?? 0) > 0, 'a positive quantity');
const Share = z.number().min(0).max(1);

/** Settings every action type has. */
const base = {
  /** Whether policy may approve this action at all. */
  allowed: z.boolean().default(false),
  /** Wait for `kubectl annotate incident <id> kurative.dev/approve=<action>` before acting. */
  requireApproval: z.boolean().default(false),
};

const Pods = z
  .object({
    ...base,
    /** Share of a workload's replicas that may be disrupted at once (0.34 of 3 → one pod). */
    maxDisruptedShare: Share.default(0.34),
  })
  .strict();

const Nodes = z
  .object({
    ...base,
    /** Nodes that may be cordoned at the same time, counting those already cordoned. */
    maxNodes: z.number().int().min(0).default(1),
  })
  .strict();

const Resources = z
  .object({
    ...base,
    /** A limit or request may grow to at most this multiple of its current value. */
    maxFactor: z.number().min(1).max(10).default(2),
    /** Absolute caps after the change. */
    maxMemory: QuantityText.default('4Gi'),
    maxCpu: QuantityText.default('4'),
  })
  .strict();

const Volumes = z
  .object({
    ...base,
    /** A claim's requested size may grow to at most this multiple of its current request. */
    maxFactor: z.number().min(1).max(10).default(2),
    /** Absolute cap on a claim's size after the change. */
    maxSize: QuantityText.default('1Ti'),
  })
  .strict();

const Scale = z
  .object({
    ...base,
    minReplicas: z.number().int().min(0).default(1),
    maxReplicas: z.number().int().min(1).default(10),
    /** Replicas added or removed by one action at most. */
    maxStep: z.number().int().min(1).default(2),
  })
  .strict();

const Plain = z.object({ ...base }).strict();
const Notify = z
  .object({ allowed: z.boolean().default(true), requireApproval: z.boolean().default(false) })
  .strict();

const MaintenanceWindow = z
  .object({
    /** A one-off window: RFC 3339 instants. */
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    /** A weekly window in UTC: days (Mon..Sun, empty = every day) and HH:MM start/end. */
    days: z.array(z.enum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])).default([]),
    start: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (UTC)')
      .optional(),
    end: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (UTC)')
      .optional(),
  })
  .strict();
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

/**
 * RemediationPolicy.spec: what kurative may do on its own. Everything not allowed here is only
 * observed. Cross-field rules (`refine`) cannot be expressed in the CRD schema: a policy breaking
 * them is reported in status.conditions and treated as `observe`.
 */
export const RemediationPolicySpec = z
  .object({
    mode: Mode.default('observe'),
    /** When several policies cover a target, the highest priority wins (then the name). */
    priority: z.number().int().default(0),
    /** Stop every action now (decisions are still recorded). */
    paused: z.boolean().default(false),
    scope: z
      .object({
        /** Namespaces covered; empty = all but the protected ones. */
        namespaces: z.array(z.string().min(1)).default([]),
        selector: LabelSelector.optional(),
        /** Never touched, in addition to kube-system and kurative's own namespace. */
        protectedNamespaces: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ namespaces: [], protectedNamespaces: [] }),
    actions: z
      .object({
        restartPod: Pods.optional(),
        evictPod: Pods.optional(),
        cordonNode: Nodes.optional(),
        moveOffNode: Nodes.optional(),
        drainNode: Nodes.optional(),
        adjustResources: Resources.optional(),
        expandVolume: Volumes.optional(),
        scaleWorkload: Scale.optional(),
        rollbackDeployment: Plain.optional(),
        quarantinePod: Plain.optional(),
        notify: Notify.optional(),
      })
      .strict()
      .default({}),
    limits: z
      .object({
        maxActionsPerHour: z.number().int().min(0).default(20),
        maxActionsPerNamespacePerHour: z.number().int().min(0).default(5),
        /** No second action on the same target within this time. */
        cooldown: DurationText.default('15m'),
        /** Diagnoses less confident than this are only observed. */
        minConfidence: Share.default(0.5),
        /** Circuit breaker: more open incidents than this at once stops all actions. */
        maxOpenIncidents: z.number().int().min(1).default(5),
        /** Circuit breaker (like NodeHealthCheck minHealthy): fewer Ready nodes than this share stops all actions. */
        minHealthyNodes: Share.default(0.6),
      })
      .strict()
      .default({
        maxActionsPerHour: 20,
        maxActionsPerNamespacePerHour: 5,
        cooldown: '15m',
        minConfidence: 0.5,
        maxOpenIncidents: 5,
        minHealthyNodes: 0.6,
      }),
    approvals: z
      .object({ expireAfter: DurationText.default('1h') })
      .strict()
      .default({ expireAfter: '1h' }),
    verification: z
      .object({
        /** How long after an action the outcome is checked against fresh signals. */
        window: DurationText.default('5m'),
      })
      .strict()
      .default({ window: '5m' }),
    /** While one is open, actions are suspended (observe only): planned work expected to look abnormal. */
    maintenanceWindows: z.array(MaintenanceWindow).default([]),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const scale = spec.actions.scaleWorkload;
    if (scale && scale.minReplicas > scale.maxReplicas)
      ctx.addIssue({
        code: 'custom',
        path: ['actions', 'scaleWorkload'],
        message: `minReplicas ${scale.minReplicas} is above maxReplicas ${scale.maxReplicas}`,
      });
    spec.maintenanceWindows.forEach((w, i) => {
      const oneOff = w.from !== undefined || w.to !== undefined;
      const weekly = w.start !== undefined || w.end !== undefined;
      const path = ['maintenanceWindows', i];
      if (oneOff === weekly)
        ctx.addIssue({ code: 'custom', path, message: 'set either from/to or start/end' });
      else if (oneOff && (!w.from || !w.to || Date.parse(w.from) >= Date.parse(w.to)))
        ctx.addIssue({ code: 'custom', path, message: 'from must be before to' });
      else if (weekly && (!w.start || !w.end))
        ctx.addIssue({ code: 'custom', path, message: 'start and end are both required' });
    });
    for (const [field, text] of [
      ['limits.cooldown', spec.limits.cooldown],
      ['approvals.expireAfter', spec.approvals.expireAfter],
      ['verification.window', spec.verification.window],
    ] as const) {
      if (parseDuration(text) <= 0)
        ctx.addIssue({ code: 'custom', path: field.split('.'), message: 'must be longer than 0s' });
    }
  });
export type RemediationPolicySpec = z.infer<typeof RemediationPolicySpec>;
export type ActionPolicy =
  | z.infer<typeof Pods>
  | z.infer<typeof Nodes>
  | z.infer<typeof Resources>
  | z.infer<typeof Scale>
  | z.infer<typeof Plain>;

export const RemediationPolicyStatus = z
  .object({
    conditions: z.array(Condition).default([]),
    lastDecisionAt: z.string().optional(),
  })
  .strict();

/** The label (on a workload, pod, node or namespace) that keeps kurative's hands off it. */
export const OPT_OUT_LABEL = 'kurative.dev/remediation';
export const OPT_OUT_VALUE = 'disabled';
/** Incident annotations a human sets to answer a pending decision. */
export const APPROVE_ANNOTATION = 'kurative.dev/approve';
export const REJECT_ANNOTATION = 'kurative.dev/reject';
/**
 * Pod-template annotation act sets when a remediation changes a workload's template (a resize):
 * the incident it was for. rca reads a revision that only sets it anew as kurative's own change,
 * not as someone's rollout.
 */
export const REMEDIATION_ANNOTATION = 'kurative.dev/remediated-for';
