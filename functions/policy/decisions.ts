// Deciding one step of an incident's ladder under the RemediationPolicies, and recording it.
import * as k8s from '@kubernetes/client-node';
import {
  EVENT_TYPES,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  type Condition,
  type DecisionData,
  type Mode,
} from '../../shared/contracts/index.js';
import { apiFailure, statusOf, type KubeClients } from '../../shared/kube/index.js';
import { describeRef, recordKubeEvent, updateIncident } from '../../shared/kube/incidents.js';
import type { Logger } from '../../shared/log/index.js';
import type { OutboundEvent } from '../../shared/runtime/index.js';
import { updateMany, withStore, type BaselineStore } from '../../shared/store/index.js';
import {
  EMPTY_BOOK,
  actionKey,
  moveOn,
  needsDecision,
  nextDecisionId,
  recordDecision,
  type Plan,
  type PolicyBook,
  type StandingDecision,
} from './book.js';
import {
  TRANSIENT_RULES,
  decide,
  loadPolicies,
  type ClusterFacts,
  type Decision,
  type LoadedPolicy,
} from './decide.js';
import { gatherFacts } from './facts.js';

export interface PolicyDeps {
  readonly store: BaselineStore;
  readonly kube: KubeClients;
  readonly ownNamespace: string;
  readonly defaultMode: Mode;
  /** How long a new incident gathers anomalies before the first decision (absent: none). */
  readonly groupWaitMs?: number;
}

export const BOOK_KEY = 'policy|book';
const POLICIES = { group: KURATIVE_GROUP, version: KURATIVE_VERSION, plural: 'remediationpolicies' } as const;

/**
 * Decide the action at the incident's current step of the ladder, unless a standing decision still
 * holds. Facts are read first; the decision is then taken inside the store's compare-and-set so two
 * instances can neither both approve past a rate limit nor decide the same step twice.
 */
export async function decideStep(
  incidentId: string,
  now: number,
  deps: PolicyDeps,
  log: Logger,
  approval?: { approved: boolean },
): Promise<OutboundEvent | OutboundEvent[] | undefined> {
  const loaded = await withStore(() => deps.store.load<PolicyBook>([BOOK_KEY]));
  const plan0 = loaded.get(BOOK_KEY)?.value.plans[incidentId];
  const recommended = plan0?.actions[plan0.step];
  if (!plan0 || !recommended) return undefined;
  if (!approval && !needsDecision(plan0, recommended, now)) return undefined;
  // Facts for this step and the ones after it: a permanent denial moves down the ladder at once.
  const ladder = plan0.actions.slice(plan0.step);
  const [facts, policies] = await Promise.all([
    gatherFacts(deps.kube, ladder, now),
    readPolicies(deps.kube, log),
  ]);
  const outcomes: Outcome[] = [];
  await withStore(() =>
    updateMany<PolicyBook>(deps.store, [BOOK_KEY], (_k, current) => {
      outcomes.length = 0;
      const book = structuredClone(current ?? EMPTY_BOOK);
      const plan = book.plans[incidentId];
      const first = plan?.actions[plan.step];
      if (!plan || !first || actionKey(first) !== actionKey(recommended) || plan.step !== plan0.step)
        return book;
      if (approval ? plan.current?.verdict !== 'pendingApproval' : !needsDecision(plan, first, now))
        return book;
      outcomes.push(
        ...decideLadder(book, plan, { facts, policies, deps, now, ...(approval ? { approval } : {}) }),
      );
      return book;
    }),
  );
  if (outcomes.length === 0) return undefined;
  const events: OutboundEvent[] = [];
  for (const o of outcomes)
    events.push(await publishDecision(incidentId, o.decision, o.standing, o.plan, now, deps, log));
  return events.length === 1 ? events[0] : events;
}

type Outcome = { decision: Decision; standing: StandingDecision; plan: Plan };

/**
 * Decide the plan's current step; after a denial that will not lift by itself (not allowed, out of
 * bounds, protected…) go on to the next action of the ladder now rather than never. `facts[k]` are
 * the facts of the k-th action from the current step. Mutates the book (inside the store's CAS).
 */
function decideLadder(
  book: PolicyBook,
  plan: Plan,
  ctx: {
    facts: readonly ClusterFacts[];
    policies: LoadedPolicy[];
    deps: PolicyDeps;
    now: number;
    approval?: { approved: boolean };
  },
): Outcome[] {
  const { now, approval } = ctx;
  const outcomes: Outcome[] = [];
  const from = plan.step;
  for (let k = 0; k < ctx.facts.length; k++) {
    const action = plan.actions[plan.step];
    // Facts were read for the ladder from the step this decision started at.
    const facts = ctx.facts[plan.step - from];
    if (!action || !facts) break;
    const human = approval !== undefined && k === 0;
    const decision = decide({
      action,
      confidence: plan.confidence,
      policies: ctx.policies,
      defaultMode: ctx.deps.defaultMode,
      ownNamespace: ctx.deps.ownNamespace,
      facts,
      ledger: book.ledger,
      now,
      ...(human ? { approved: approval.approved } : {}),
    });
    const previous = plan.current;
    // The same denial again (a transient limit that has not lifted): note the time, say nothing.
    if (
      previous?.verdict === 'denied' &&
      decision.verdict === 'denied' &&
      previous.rule === decision.rule.name &&
      previous.actionKey === actionKey(action)
    ) {
      plan.current = { ...previous, at: now };
      break;
    }
    const id = human && previous ? previous.decisionId : nextDecisionId(plan);
    if (!human) plan.decisions++;
    const standing = recordDecision(book, plan, action, decision, now, id);
    outcomes.push({ decision, standing, plan: structuredClone(plan) });
    const permanent = decision.verdict === 'denied' && !TRANSIENT_RULES.has(decision.rule.name);
    if (!permanent) break;
    const current = plan.current;
    moveOn(plan);
    // The last action denied for good: its denial stands (nothing left to try).
    if (plan.step >= plan.actions.length) {
      if (current) plan.current = current;
      break;
    }
  }
  return outcomes;
}

const EVENT_REASON: Record<DecisionData['verdict'], string> = {
  approved: 'RemediationApproved',
  denied: 'RemediationDenied',
  pendingApproval: 'ApprovalRequired',
  observed: 'RemediationObserved',
};

/** Record the decision on the Incident and as an Event, and emit it for act and any subscriber. */
export async function publishDecision(
  incidentId: string,
  decision: Decision,
  standing: StandingDecision,
  plan: Plan,
  now: number,
  deps: PolicyDeps,
  log: Logger,
): Promise<OutboundEvent> {
  const at = new Date(now);
  const data: DecisionData = {
    incidentId,
    decisionId: standing.decisionId,
    decidedAt: at.toISOString(),
    mode: decision.mode,
    verdict: decision.verdict,
    action: decision.action,
    rule: decision.rule,
    dryRun: decision.dryRun,
    step: plan.step,
    verifyAfterSeconds: decision.verifyAfterMs / 1000,
    ...(standing.expiresAt ? { expiresAt: new Date(standing.expiresAt).toISOString() } : {}),
  };
  const what = `${decision.action.type} ${describeRef(decision.action.target)}`;
  const line = `${decision.verdict} ${what} — rule ${decision.rule.name} (${decision.rule.policy}): ${decision.rule.reason}`;
  const acting = decision.verdict === 'approved' && !decision.dryRun && decision.action.type !== 'notify';
  await updateIncident(
    deps.kube,
    incidentId,
    {
      set: {
        decision: line.slice(0, 500),
        ...(acting ? { phase: 'Mitigating' as const } : {}),
        ...(decision.verdict === 'pendingApproval' ? { phase: 'AwaitingApproval' as const } : {}),
      },
      history: `decision ${standing.decisionId}: ${line}`,
      condition: {
        type: 'Decided',
        status: 'True',
        reason: EVENT_REASON[decision.verdict],
        message: line.slice(0, 500),
      },
    },
    at,
  );
  const recorded = await recordKubeEvent(
    deps.kube,
    { apiVersion: `${KURATIVE_GROUP}/${KURATIVE_VERSION}`, kind: 'Incident', name: incidentId },
    {
      reason: EVENT_REASON[decision.verdict],
      message: `${standing.decisionId}: ${line}`,
      type: decision.verdict === 'denied' ? 'Warning' : 'Normal',
      component: 'kurative-policy',
      at,
    },
  );
  if (!recorded) log.warn({ incident: incidentId }, 'could not record the decision Event');
  log.info(
    {
      incident: incidentId,
      decision: standing.decisionId,
      verdict: decision.verdict,
      rule: decision.rule.name,
    },
    'decided',
  );
  return {
    type: EVENT_TYPES.decision,
    data,
    incidentId,
    subject: describeRef(decision.action.target),
    extensions: { verdict: decision.verdict },
  };
}

/**
 * Read every RemediationPolicy; report each one's validity in status.conditions (written only when
 * it changes, so reading policies does not cause a write per decision).
 */
async function readPolicies(kube: KubeClients, log: Logger): Promise<LoadedPolicy[]> {
  let items: {
    metadata: { name: string; generation?: number };
    spec?: unknown;
    status?: { conditions?: Condition[] };
  }[];
  try {
    items = ((await kube.custom.listClusterCustomObject({ ...POLICIES })) as { items: typeof items }).items;
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw apiFailure('listing RemediationPolicies', error);
  }
  const loaded = loadPolicies(items);
  await Promise.all(
    loaded.map(async (p, i) => {
      const old = items[i]?.status?.conditions?.find((c) => c.type === 'Ready');
      const status = p.spec ? 'True' : 'False';
      const reason = p.spec ? 'Valid' : 'InvalidSpec';
      const message = p.spec
        ? `in force, mode ${p.spec.mode}${p.spec.paused ? ' (paused)' : ''}`
        : `${p.error ?? 'invalid'}; treated as observe`;
      if (old?.status === status && old.reason === reason && old.observedGeneration === p.generation) return;
      const condition: Condition = {
        type: 'Ready',
        status,
        reason,
        message: message.slice(0, 1000),
        lastTransitionTime: new Date().toISOString(),
        observedGeneration: p.generation,
      };
      try {
        await kube.custom.patchClusterCustomObjectStatus(
          { ...POLICIES, name: p.name, body: { status: { conditions: [condition] } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        );
      } catch (error) {
        log.warn({ policy: p.name, status: statusOf(error) }, 'could not write the policy status');
      }
    }),
  );
  return loaded;
}
