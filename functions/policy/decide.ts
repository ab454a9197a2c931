import {
  OPT_OUT_LABEL,
  OPT_OUT_VALUE,
  RemediationPolicySpec,
  type ActionSpec,
  type ActionType,
  type MaintenanceWindow,
  type Mode,
  type Verdict,
} from '../../shared/contracts/index.js';
import { parseDuration } from '../../shared/duration/index.js';
import { planBounds, type TargetFacts } from './bounds.js';

/** A RemediationPolicy as read from the cluster: parsed, or the reason it is invalid. */
export interface LoadedPolicy {
  readonly name: string;
  readonly generation: number;
  readonly spec?: RemediationPolicySpec;
  readonly error?: string;
}

/** Facts about the cluster that limits and the circuit breaker read, gathered at decision time. */
export interface ClusterFacts {
  /** Incidents not yet resolved that saw an anomaly recently (including this one). */
  readonly openIncidents: number;
  readonly nodes: number;
  readonly readyNodes: number;
  /** Nodes cordoned now (spec.unschedulable). */
  readonly cordonedNodes: readonly string[];
  /** Nodes Ready and schedulable now: where evicted pods can go. */
  readonly schedulableNodes?: readonly string[];
  /** Labels of the target's namespace (opt-out). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly target: TargetFacts | undefined;
}

/** One approved action as the ledger remembers it, for rate limits and cooldowns. */
export interface LedgerEntry {
  readonly at: number;
  readonly namespace: string;
  readonly target: string;
  readonly type: ActionType;
}

export interface Decision {
  readonly verdict: Verdict;
  readonly mode: Mode;
  readonly dryRun: boolean;
  readonly rule: { policy: string; name: string; reason: string };
  /** The action with the concrete, bounded parameters act must apply. */
  readonly action: ActionSpec;
  readonly verifyAfterMs: number;
  readonly approvalTtlMs: number;
}

export interface DecideInput {
  readonly action: ActionSpec;
  readonly confidence: number;
  readonly policies: readonly LoadedPolicy[];
  /** Mode when no policy covers the target (KURATIVE_MODE, observe by default). */
  readonly defaultMode: Mode;
  /** kurative's own namespace (always protected). */
  readonly ownNamespace: string;
  readonly facts: ClusterFacts;
  readonly ledger: readonly LedgerEntry[];
  readonly now: number;
  /** A human approved this action on the Incident: skip the approval gate, keep every other. */
  readonly approved?: boolean;
}

export const ALWAYS_PROTECTED = ['kube-system', 'kube-public', 'kube-node-lease'];
const HOUR = 3_600_000;
const DEFAULT_VERIFY_MS = 5 * 60_000;
const DEFAULT_APPROVAL_TTL_MS = HOUR;

/** Rules whose denial may lift by itself (time passes, load drops): worth deciding again later. */
export const TRANSIENT_RULES = new Set([
  'paused',
  'maintenance-window',
  'rate-limit-cluster',
  'rate-limit-namespace',
  'cooldown',
  'circuit-breaker-incidents',
  'circuit-breaker-nodes',
  'min-confidence',
]);

export function targetKey(a: Pick<ActionSpec, 'target'>): string {
  const t = a.target;
  return `${t.kind}/${t.namespace ?? ''}/${t.name}`;
}

function matchesLabels(labels: Readonly<Record<string, string>>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

/** Whether a policy's scope covers the target (namespaces, selector), ignoring protection. */
function covers(spec: RemediationPolicySpec, namespace: string | undefined, labels: Record<string, string>) {
  const { scope } = spec;
  if (scope.namespaces.length > 0 && (namespace === undefined || !scope.namespaces.includes(namespace)))
    return false;
  return matchesLabels(labels, scope.selector?.matchLabels ?? {});
}

/**
 * The policy in force for a target: the highest-priority policy whose scope covers it (then by
 * name). An invalid policy covers everything it might have covered, as observe: we cannot tell
 * what its author meant, so the safe reading is to act on nothing.
 */
export function policyFor(
  policies: readonly LoadedPolicy[],
  namespace: string | undefined,
  labels: Record<string, string>,
): LoadedPolicy | undefined {
  const sorted = [...policies].sort(
    (a, b) => (b.spec?.priority ?? Infinity) - (a.spec?.priority ?? Infinity) || a.name.localeCompare(b.name),
  );
  return sorted.find((p) => !p.spec || covers(p.spec, namespace, labels));
}

/** Whether `now` falls inside a maintenance window (weekly windows are in UTC and may wrap midnight). */
export function inMaintenance(windows: readonly MaintenanceWindow[], now: number): boolean {
  const d = new Date(now);
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][
    d.getUTCDay()
  ] as MaintenanceWindow['days'][number];
  const minute = d.getUTCHours() * 60 + d.getUTCMinutes();
  const toMin = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  return windows.some((w) => {
    if (w.from && w.to) return now >= Date.parse(w.from) && now < Date.parse(w.to);
    if (!w.start || !w.end) return false;
    if (w.days.length > 0 && !w.days.includes(day)) return false;
    const s = toMin(w.start);
    const e = toMin(w.end);
    return s <= e ? minute >= s && minute < e : minute >= s || minute < e;
  });
}

type Gate = { name: string; reason: string } | undefined;

function gateScope(input: DecideInput, spec: RemediationPolicySpec): Gate {
  const { target } = input.facts;
  const ns = input.action.target.namespace;
  const protectedNs = new Set([...ALWAYS_PROTECTED, input.ownNamespace, ...spec.scope.protectedNamespaces]);
  if (ns !== undefined && protectedNs.has(ns))
    return { name: 'protected-namespace', reason: `namespace ${ns} is protected: kurative never acts there` };
  if (input.facts.namespaceLabels[OPT_OUT_LABEL] === OPT_OUT_VALUE)
    return { name: 'opt-out', reason: `namespace ${ns ?? ''} is labelled ${OPT_OUT_LABEL}=${OPT_OUT_VALUE}` };
  if (target?.labels[OPT_OUT_LABEL] === OPT_OUT_VALUE)
    return { name: 'opt-out', reason: `the target is labelled ${OPT_OUT_LABEL}=${OPT_OUT_VALUE}` };
  if (target?.podsOptedOut)
    return { name: 'opt-out', reason: `its pods are labelled ${OPT_OUT_LABEL}=${OPT_OUT_VALUE}` };
  return undefined;
}

function windowsOf(spec: RemediationPolicySpec | undefined): {
  verifyAfterMs: number;
  approvalTtlMs: number;
} {
  return spec
    ? {
        verifyAfterMs: parseDuration(spec.verification.window),
        approvalTtlMs: parseDuration(spec.approvals.expireAfter),
      }
    : { verifyAfterMs: DEFAULT_VERIFY_MS, approvalTtlMs: DEFAULT_APPROVAL_TTL_MS };
}

/** The policy-wide switches: pause and maintenance windows. */
function gateSwitches(spec: RemediationPolicySpec, name: string, now: number): Gate {
  if (spec.paused) return { name: 'paused', reason: `RemediationPolicy ${name} is paused` };
  if (inMaintenance(spec.maintenanceWindows, now))
    return { name: 'maintenance-window', reason: 'a maintenance window is open: actions are suspended' };
  return undefined;
}

/** Whether this action type is allowed at all, and the diagnosis sure enough to act on. */
function gateAction(input: DecideInput, spec: RemediationPolicySpec, name: string): Gate {
  const { action } = input;
  // notify changes nothing in the cluster: allowed unless a policy says otherwise.
  const allowed = spec.actions[action.type]?.allowed ?? action.type === 'notify';
  if (!allowed)
    return {
      name: 'action-not-allowed',
      reason: `${action.type} is not allowed by RemediationPolicy ${name}`,
    };
  if (action.type !== 'notify' && input.confidence < spec.limits.minConfidence)
    return {
      name: 'min-confidence',
      reason: `diagnosis confidence ${input.confidence.toFixed(2)} is below ${spec.limits.minConfidence}`,
    };
  return undefined;
}

function gateLimits(input: DecideInput, spec: RemediationPolicySpec): Gate {
  const { limits } = spec;
  const { facts, now, action } = input;
  if (facts.openIncidents > limits.maxOpenIncidents)
    return {
      name: 'circuit-breaker-incidents',
      reason: `${facts.openIncidents} incidents are open at once (limit ${limits.maxOpenIncidents}): too much looks broken to act automatically`,
    };
  if (facts.nodes > 0 && facts.readyNodes / facts.nodes < limits.minHealthyNodes)
    return {
      name: 'circuit-breaker-nodes',
      reason: `only ${facts.readyNodes} of ${facts.nodes} nodes are Ready (minimum ${Math.round(limits.minHealthyNodes * 100)} %): too much looks broken to act automatically`,
    };
  const recent = input.ledger.filter((e) => now - e.at < HOUR);
  if (recent.length >= limits.maxActionsPerHour)
    return {
      name: 'rate-limit-cluster',
      reason: `${recent.length} actions in the last hour (limit ${limits.maxActionsPerHour} per hour)`,
    };
  const ns = action.target.namespace ?? '';
  const inNs = recent.filter((e) => e.namespace === ns).length;
  if (inNs >= limits.maxActionsPerNamespacePerHour)
    return {
      name: 'rate-limit-namespace',
      reason: `${inNs} actions in namespace ${ns || '(cluster)'} in the last hour (limit ${limits.maxActionsPerNamespacePerHour})`,
    };
  const cooldown = parseDuration(limits.cooldown);
  const key = targetKey(action);
  const last = input.ledger.filter((e) => e.target === key).sort((a, b) => b.at - a.at)[0];
  if (last && now - last.at < cooldown)
    return {
      name: 'cooldown',
      reason: `${key} was acted on ${Math.round((now - last.at) / 1000)}s ago (cooldown ${limits.cooldown})`,
    };
  return undefined;
}

/**
 * Decide one action under the policies: the first rule that says no names the verdict, in the
 * order an SRE would ask — is anything allowed at all (mode, pause, maintenance), may we touch this
 * target (protection, opt-out), is this action allowed and within its bounds, is the diagnosis sure
 * enough, are we within rate limits, cooldowns and the circuit breaker, and does a human have to
 * say yes first. Pure: every fact it needs is in the input.
 */
export function decide(input: DecideInput): Decision {
  const { action, now } = input;
  const labels = input.facts.target?.labels ?? {};
  // Without any RemediationPolicy the built-in defaults apply in the configured mode (observe unless
  // KURATIVE_MODE says otherwise): only notify is allowed by them.
  const policy: LoadedPolicy | undefined =
    policyFor(input.policies, action.target.namespace, labels) ??
    (input.policies.length === 0
      ? { name: '(default)', generation: 0, spec: RemediationPolicySpec.parse({ mode: input.defaultMode }) }
      : undefined);
  const { verifyAfterMs, approvalTtlMs } = windowsOf(policy?.spec);
  const result = (
    verdict: Verdict,
    mode: Mode,
    name: string,
    reason: string,
    planned: ActionSpec = action,
  ): Decision => ({
    verdict,
    mode,
    dryRun: mode === 'dryRun',
    rule: { policy: policy?.name ?? '(none)', name, reason },
    action: planned,
    verifyAfterMs,
    approvalTtlMs,
  });
  if (!policy)
    return result(
      'observed',
      'observe',
      'no-policy',
      'no RemediationPolicy covers this target: observe only',
    );
  const spec = policy.spec;
  if (!spec)
    return result(
      'observed',
      'observe',
      'invalid-policy',
      `RemediationPolicy ${policy.name} is invalid (${policy.error ?? 'unknown error'}): treated as observe`,
    );
  const mode = spec.mode;
  if (mode === 'observe')
    return result(
      'observed',
      mode,
      'mode-observe',
      `RemediationPolicy ${policy.name} is in observe mode: decided and recorded, not acted on`,
    );
  const gate =
    gateSwitches(spec, policy.name, now) ?? gateScope(input, spec) ?? gateAction(input, spec, policy.name);
  if (gate) return result('denied', mode, gate.name, gate.reason);
  const allowance = spec.actions[action.type] ?? { requireApproval: false };
  const bounded = planBounds(action, spec, input.facts);
  if (!bounded.ok) return result('denied', mode, bounded.rule, bounded.reason);
  if (action.type !== 'notify') {
    const limit = gateLimits(input, spec);
    if (limit) return result('denied', mode, limit.name, limit.reason, bounded.action);
  }
  if (allowance.requireApproval && !input.approved)
    return result(
      'pendingApproval',
      mode,
      'requires-approval',
      `${action.type} needs a human: kubectl annotate incident <id> kurative.dev/approve=${action.type}`,
      bounded.action,
    );
  return result(
    'approved',
    mode,
    input.approved ? 'approved-by-human' : `allow-${action.type}`,
    `${input.approved ? 'approved on the Incident; ' : ''}${action.type} allowed by RemediationPolicy ${policy.name}${bounded.note ? ` (${bounded.note})` : ''}${mode === 'dryRun' ? ', as a server-side dry run' : ''}`,
    bounded.action,
  );
}

/** Parse RemediationPolicy objects; a spec that fails validation is kept with its error. */
export function loadPolicies(
  items: readonly { metadata: { name: string; generation?: number }; spec?: unknown }[],
): LoadedPolicy[] {
  return items.map((o) => {
    const parsed = RemediationPolicySpec.safeParse(o.spec ?? {});
    const generation = o.metadata.generation ?? 0;
    if (parsed.success) return { name: o.metadata.name, generation, spec: parsed.data };
    const error = parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ');
    return { name: o.metadata.name, generation, error };
  });
}
