import type { ActionSpec, ObjectRef, Verdict } from '../../shared/contracts/index.js';
import { TRANSIENT_RULES, targetKey, type Decision, type LedgerEntry } from './decide.js';

/** The decision currently standing for an incident. */
export interface StandingDecision {
  readonly decisionId: string;
  readonly step: number;
  readonly actionKey: string;
  readonly verdict: Verdict;
  readonly rule: string;
  readonly at: number;
  readonly expiresAt?: number;
  readonly action: ActionSpec;
}

/** Policy's memory of one incident: the ladder of actions and where it stands on it. */
export interface Plan {
  readonly id: string;
  createdAt: number;
  updatedAt: number;
  /** The recommended actions of the latest diagnosis, in order (the ladder). */
  actions: ActionSpec[];
  confidence: number;
  root?: ObjectRef;
  step: number;
  /** Decisions made so far (for unique, deterministic decision ids). */
  decisions: number;
  phase: 'open' | 'mitigating' | 'resolved' | 'escalated';
  resolvedAt?: number;
  current?: StandingDecision;
  /** The incident revision of the diagnosis the ladder follows (an older one arriving late is ignored). */
  sequence?: number;
  /** When the latest diagnosis arrived (the group wait counts from it). */
  diagnosedAt?: number;
  /** Actions (by actionKey) that failed, did not resolve it, or were denied for good: not tried again. */
  tried?: string[];
}

export interface PolicyBook {
  plans: Record<string, Plan>;
  /** Actions approved in enforce mode (rate limits, cooldowns), newest last. */
  ledger: LedgerEntry[];
}

export const EMPTY_BOOK: PolicyBook = { plans: {}, ledger: [] };
const KEEP_MS = 24 * 3_600_000;
/** A transient denial (rate limit, cooldown, breaker…) is looked at again after this long. */
export const RETRY_DENIED_MS = 2 * 60_000;
const STUCK_MS = 30 * 60_000;

/** The key that makes two actions "the same": type, target and parameters. */
export function actionKey(a: ActionSpec): string {
  const params = Object.keys(a.params)
    .sort()
    .map((k) => `${k}=${String(a.params[k])}`)
    .join(',');
  return `${a.type}:${targetKey(a)}:${params}`;
}

/**
 * Whether a diagnosis calls for a (new) decision on this plan. Re-diagnoses of the same incident
 * arrive with every joined anomaly: a decision stands until its action was tried and verified,
 * the action changes, a transient denial may have lifted, or a notification is followed by a
 * remedy.
 */
export function needsDecision(plan: Plan, action: ActionSpec, now: number): boolean {
  const c = plan.current;
  if (plan.phase === 'escalated') return false;
  // An approved action waits for act's outcome; one never reported (lost) stops blocking after a while.
  if (plan.phase === 'mitigating') return !c || now - c.at > STUCK_MS;
  if (!c) return true;
  const sameAction = c.actionKey === actionKey(action);
  // A notification settles nothing: when a later diagnosis of the incident finds a remedy (the
  // first one often sees only symptoms), it gets a decision.
  if (c.verdict === 'approved') return c.action.type === 'notify' && action.type !== 'notify';
  // An approval request that expired unanswered is asked again (a new decision, a new request).
  if (c.verdict === 'pendingApproval') return !sameAction || (c.expiresAt !== undefined && now > c.expiresAt);
  if (c.verdict === 'observed') return !sameAction;
  // denied
  if (!sameAction) return true;
  return TRANSIENT_RULES.has(c.rule) && now - c.at >= RETRY_DENIED_MS;
}

/** Record a decision on the plan (and, when it will change the cluster, in the ledger). */
export function recordDecision(
  book: PolicyBook,
  plan: Plan,
  recommended: ActionSpec,
  decision: Decision,
  now: number,
  decisionId: string,
): StandingDecision {
  const standing: StandingDecision = {
    decisionId,
    step: plan.step,
    actionKey: actionKey(recommended),
    verdict: decision.verdict,
    rule: decision.rule.name,
    at: now,
    action: decision.action,
    ...(decision.verdict === 'pendingApproval' ? { expiresAt: now + decision.approvalTtlMs } : {}),
  };
  plan.current = standing;
  plan.updatedAt = now;
  if (decision.verdict === 'approved' && decision.action.type !== 'notify') {
    plan.phase = decision.dryRun ? plan.phase : 'mitigating';
    if (!decision.dryRun)
      book.ledger.push({
        at: now,
        namespace: decision.action.target.namespace ?? '',
        target: targetKey(decision.action),
        type: decision.action.type,
      });
  }
  return standing;
}

/** Forget what is older than a day (plans of incidents long gone, ledger entries past every limit). */
export function prune(book: PolicyBook, now: number): void {
  for (const [id, p] of Object.entries(book.plans)) if (now - p.updatedAt > KEEP_MS) delete book.plans[id];
  book.ledger = book.ledger.filter((e) => now - e.at <= KEEP_MS);
}

/** The next decision id of a plan: deterministic, so a redelivered event finds the same one. */
export function nextDecisionId(plan: Plan): string {
  return `${plan.id}-d${plan.decisions + 1}`;
}

/**
 * Mark the plan's current action as tried and move to the first action of the ladder not tried
 * yet (the ladder may have changed since: it is the latest diagnosis's).
 */
export function moveOn(plan: Plan): void {
  // The action decided on (the ladder may have changed under it since), else the step's.
  const action = plan.actions[plan.step];
  const key = plan.current?.actionKey ?? (action ? actionKey(action) : undefined);
  plan.tried = [...triedKeys(plan), ...(key ? [key] : [])];
  delete plan.current;
  plan.step = firstUntried(plan);
}

/** Follow a new diagnosis's ladder, at its first action not tried yet on this incident. */
export function followLadder(plan: Plan, actions: ActionSpec[]): void {
  plan.tried = triedKeys(plan);
  plan.actions = actions;
  plan.step = firstUntried(plan);
}

/** Tried actions; a plan stored before they were kept counts the ladder's steps behind it. */
function triedKeys(plan: Plan): string[] {
  return plan.tried ?? plan.actions.slice(0, plan.step).map(actionKey);
}

function firstUntried(plan: Plan): number {
  const tried = new Set(plan.tried ?? []);
  const i = plan.actions.findIndex((a) => !tried.has(actionKey(a)));
  return i < 0 ? plan.actions.length : i;
}
