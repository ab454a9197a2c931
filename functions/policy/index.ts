import * as k8s from '@kubernetes/client-node';
import type { Config } from '../../shared/config/index.js';
import {
  APPROVE_ANNOTATION,
  EVENT_TYPES,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  REJECT_ANNOTATION,
  type Condition,
  type DecisionData,
  type DiagnosisData,
  type Mode,
  type RemediationData,
} from '../../shared/contracts/index.js';
import {
  apiFailure,
  createKubeClients,
  loadKubeConfig,
  statusOf,
  type KubeClients,
} from '../../shared/kube/index.js';
import { describeRef, recordKubeEvent, updateIncident } from '../../shared/kube/incidents.js';
import type { Logger } from '../../shared/log/index.js';
import { defineFunction, type OutboundEvent } from '../../shared/runtime/index.js';
import { clusterAndStore, updateMany, withStore, type BaselineStore } from '../../shared/store/index.js';
import {
  EMPTY_BOOK,
  actionKey,
  needsDecision,
  nextDecisionId,
  prune,
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
}

const BOOK_KEY = 'policy|book';
const POLICIES = { group: KURATIVE_GROUP, version: KURATIVE_VERSION, plural: 'remediationpolicies' } as const;
/** A diagnosis this long after a verified recovery means the trouble is back: start the ladder again. */
const REOPEN_AFTER_MS = 10 * 60_000;

type Accepted =
  typeof EVENT_TYPES.diagnosis | typeof EVENT_TYPES.remediation | typeof EVENT_TYPES.apiServerUpdate;

/** policy: decide what may be done about each diagnosis, under the RemediationPolicies in force. */
export const definition = defineFunction<PolicyDeps, Accepted>({
  name: 'policy',
  accepts: [EVENT_TYPES.diagnosis, EVENT_TYPES.remediation, EVENT_TYPES.apiServerUpdate],
  handle: async (event, { deps, log }) => {
    switch (event.type) {
      case EVENT_TYPES.diagnosis:
        return onDiagnosis(event.data, deps, log);
      case EVENT_TYPES.remediation:
        return onRemediation(event.data, deps, log);
      case EVENT_TYPES.apiServerUpdate: {
        const at = Date.parse(event.time ?? '') || Date.now();
        return onIncidentUpdate(event.data, at, deps, log);
      }
    }
  },
});

interface IncidentEventObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
}

function newPlan(id: string, now: number): Plan {
  return {
    id,
    createdAt: now,
    updatedAt: now,
    actions: [],
    confidence: 0,
    step: 0,
    decisions: 0,
    phase: 'open',
  };
}

async function onDiagnosis(
  d: DiagnosisData,
  deps: PolicyDeps,
  log: Logger,
): Promise<OutboundEvent | OutboundEvent[] | undefined> {
  const now = Date.parse(d.diagnosedAt);
  const top = d.candidates[0];
  // The ladder follows the latest diagnosis; the step stays where the incident is on it.
  const written = await withStore(() =>
    updateMany<PolicyBook>(deps.store, [BOOK_KEY], (_k, current) => {
      const b = structuredClone(current ?? EMPTY_BOOK);
      const plan = (b.plans[d.incidentId] ??= newPlan(d.incidentId, now));
      if (plan.phase === 'resolved' && now - (plan.resolvedAt ?? now) >= REOPEN_AFTER_MS) {
        plan.phase = 'open';
        plan.step = 0;
        delete plan.current;
      }
      plan.actions = d.recommendedActions;
      plan.confidence = top?.confidence ?? 0;
      if (top) plan.root = top.object;
      plan.updatedAt = now;
      prune(b, now);
      return b;
    }),
  );
  const plan = written.get(BOOK_KEY)?.plans[d.incidentId];
  if (!plan || plan.phase === 'resolved') return undefined;
  return decideStep(d.incidentId, now, deps, log);
}

/**
 * Decide the action at the incident's current step of the ladder, unless a standing decision still
 * holds. Facts are read first; the decision is then taken inside the store's compare-and-set so two
 * instances can neither both approve past a rate limit nor decide the same step twice.
 */
async function decideStep(
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
    Promise.all(ladder.map((a) => gatherFacts(deps.kube, a, now))),
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
  for (let k = 0; k < ctx.facts.length; k++) {
    const action = plan.actions[plan.step];
    const facts = ctx.facts[k];
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
    if (!permanent || plan.step + 1 >= plan.actions.length) break;
    plan.step++;
    delete plan.current;
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
async function publishDecision(
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

/** act reported: verified → resolved; failed or unresolved → next action on the ladder, or escalate. */
async function onRemediation(
  r: RemediationData,
  deps: PolicyDeps,
  log: Logger,
): Promise<OutboundEvent | OutboundEvent[] | undefined> {
  if (r.status !== 'verified' && r.status !== 'unresolved' && r.status !== 'failed') return undefined;
  const now = Date.parse(r.at);
  let next: 'decide' | 'escalate' | undefined;
  await withStore(() =>
    updateMany<PolicyBook>(deps.store, [BOOK_KEY], (_k, current) => {
      next = undefined;
      const book = structuredClone(current ?? EMPTY_BOOK);
      const plan = book.plans[r.incidentId];
      // Only the outcome of the decision standing now moves the plan (stale or duplicate reports do not).
      if (!plan || plan.current?.decisionId !== r.decisionId) return book;
      plan.updatedAt = now;
      if (r.status === 'verified') {
        plan.phase = 'resolved';
        plan.resolvedAt = now;
        return book;
      }
      if (plan.phase === 'escalated') return book;
      plan.step++;
      delete plan.current;
      plan.phase = 'open';
      next = plan.step < plan.actions.length ? 'decide' : 'escalate';
      if (next === 'escalate') plan.phase = 'escalated';
      return book;
    }),
  );
  if (next === 'decide') return decideStep(r.incidentId, now, deps, log);
  if (next === 'escalate') {
    const at = new Date(now);
    const message = `${r.action.type} ${describeRef(r.action.target)} did not resolve the incident (${r.message}); no further automatic action is allowed or known: a human must take over`;
    await updateIncident(
      deps.kube,
      r.incidentId,
      {
        set: { phase: 'Escalated', outcome: 'escalated to humans' },
        history: `escalated: ${message}`,
        condition: {
          type: 'Escalated',
          status: 'True',
          reason: 'LadderExhausted',
          message: message.slice(0, 500),
        },
      },
      at,
    );
    await recordKubeEvent(
      deps.kube,
      { apiVersion: `${KURATIVE_GROUP}/${KURATIVE_VERSION}`, kind: 'Incident', name: r.incidentId },
      { reason: 'Escalated', message, type: 'Warning', component: 'kurative-policy', at },
    );
    log.warn({ incident: r.incidentId }, 'escalated to humans');
  }
  return undefined;
}

/**
 * A human answered on the Incident (`kurative.dev/approve=<action>` or `kurative.dev/reject`). The
 * annotation is consumed (removed) so it cannot approve a later decision by accident.
 */
async function onIncidentUpdate(
  o: IncidentEventObject,
  now: number,
  deps: PolicyDeps,
  log: Logger,
): Promise<OutboundEvent | OutboundEvent[] | undefined> {
  if (o.kind !== 'Incident') return undefined;
  const annotations = o.metadata.annotations ?? {};
  const approve = annotations[APPROVE_ANNOTATION];
  const reject = annotations[REJECT_ANNOTATION];
  if (approve === undefined && reject === undefined) return undefined;
  const id = o.metadata.name;
  const loaded = await withStore(() => deps.store.load<PolicyBook>([BOOK_KEY]));
  const plan = loaded.get(BOOK_KEY)?.value.plans[id];
  const pending = plan?.current?.verdict === 'pendingApproval' ? plan.current : undefined;
  await consumeAnnotations(deps.kube, id);
  const at = new Date(now);
  const note = (history: string) => updateIncident(deps.kube, id, { history }, at);
  if (!pending) {
    await note(
      `answer ignored: nothing awaits approval (${approve !== undefined ? `approve=${approve}` : 'reject'})`,
    );
    return undefined;
  }
  const matches = (v: string) => v === pending.action.type || v === pending.decisionId || v === 'true';
  if (reject !== undefined && (reject === '' || matches(reject)))
    return answer(id, pending, 'rejected', 'rejected on the Incident by a human', now, deps, log);
  if (approve === undefined || !matches(approve)) {
    await note(
      `answer ignored: approve=${approve ?? ''} does not name the pending ${pending.action.type} (${pending.decisionId})`,
    );
    return undefined;
  }
  if (pending.expiresAt !== undefined && now > pending.expiresAt)
    return answer(
      id,
      pending,
      'approval-expired',
      `the approval came ${Math.round((now - pending.expiresAt) / 1000)}s after the request expired`,
      now,
      deps,
      log,
    );
  return decideStep(id, now, deps, log, { approved: true });
}

/** A human's no (or an expired request): the pending decision becomes a denial. */
async function answer(
  incidentId: string,
  pending: StandingDecision,
  rule: string,
  reason: string,
  now: number,
  deps: PolicyDeps,
  log: Logger,
): Promise<OutboundEvent | undefined> {
  let standing: StandingDecision | undefined;
  let plan: Plan | undefined;
  await withStore(() =>
    updateMany<PolicyBook>(deps.store, [BOOK_KEY], (_k, current) => {
      standing = undefined;
      const book = structuredClone(current ?? EMPTY_BOOK);
      const p = book.plans[incidentId];
      if (!p || p.current?.decisionId !== pending.decisionId || p.current.verdict !== 'pendingApproval')
        return book;
      p.current = { ...p.current, verdict: 'denied', rule, at: now };
      p.updatedAt = now;
      standing = p.current;
      plan = structuredClone(p);
      return book;
    }),
  );
  if (!standing || !plan) return undefined;
  const decision: Decision = {
    verdict: 'denied',
    mode: 'enforce',
    dryRun: false,
    rule: { policy: '(human)', name: rule, reason },
    action: pending.action,
    verifyAfterMs: 0,
    approvalTtlMs: 0,
  };
  return publishDecision(incidentId, decision, standing, plan, now, deps, log);
}

async function consumeAnnotations(kube: KubeClients, name: string): Promise<void> {
  try {
    await kube.custom.patchClusterCustomObject(
      {
        group: KURATIVE_GROUP,
        version: KURATIVE_VERSION,
        plural: 'incidents',
        name,
        body: { metadata: { annotations: { [APPROVE_ANNOTATION]: null, [REJECT_ANNOTATION]: null } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  } catch (error) {
    if (statusOf(error) !== 404) throw apiFailure(`clearing the answer on Incident ${name}`, error);
  }
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

export function createDeps(config: Config): Promise<PolicyDeps> {
  return Promise.resolve({
    ...clusterAndStore(config, (c) => createKubeClients(loadKubeConfig(c))),
    ownNamespace: config.namespace,
    defaultMode: config.mode,
  });
}
