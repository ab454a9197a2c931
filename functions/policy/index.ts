import type { Config } from '../../shared/config/index.js';
import {
  EVENT_TYPES,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  type DiagnosisData,
  type RemediationData,
} from '../../shared/contracts/index.js';
import { createKubeClients, loadKubeConfig } from '../../shared/kube/index.js';
import {
  describeRef,
  isOpenIncident,
  listIncidents,
  recordKubeEvent,
  updateIncident,
} from '../../shared/kube/incidents.js';
import type { Logger } from '../../shared/log/index.js';
import { defineFunction, type OutboundEvent } from '../../shared/runtime/index.js';
import { clusterAndStore, updateMany, withStore } from '../../shared/store/index.js';
import {
  EMPTY_BOOK,
  followLadder,
  moveOn,
  needsDecision,
  prune,
  type Plan,
  type PolicyBook,
} from './book.js';
import { BOOK_KEY, decideStep, type PolicyDeps } from './decisions.js';
import { onIncidentUpdate } from './approvals.js';
import { targetKey } from './decide.js';

export type { PolicyDeps } from './decisions.js';

/** A diagnosis this long after a verified recovery means the trouble is back: start the ladder again. */
const REOPEN_AFTER_MS = 10 * 60_000;

type Accepted =
  | typeof EVENT_TYPES.diagnosis
  | typeof EVENT_TYPES.remediation
  | typeof EVENT_TYPES.apiServerUpdate
  | typeof EVENT_TYPES.tick;

/** policy: decide what may be done about each diagnosis, under the RemediationPolicies in force. */
export const definition = defineFunction<PolicyDeps, Accepted>({
  name: 'policy',
  accepts: [EVENT_TYPES.diagnosis, EVENT_TYPES.remediation, EVENT_TYPES.apiServerUpdate, EVENT_TYPES.tick],
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
      case EVENT_TYPES.tick:
        return onTick(Date.parse(event.data.at), deps, log);
    }
  },
});

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
  let stale = false;
  const written = await withStore(() =>
    updateMany<PolicyBook>(deps.store, [BOOK_KEY], (_k, current) => {
      const b = structuredClone(current ?? EMPTY_BOOK);
      const plan = (b.plans[d.incidentId] ??= newPlan(d.incidentId, now));
      // Diagnoses are delivered concurrently: one computed before the plan's arrived late.
      stale = d.sequence !== undefined && plan.sequence !== undefined && d.sequence < plan.sequence;
      if (stale) return b;
      if (d.sequence !== undefined) plan.sequence = d.sequence;
      plan.diagnosedAt = now;
      if (plan.phase === 'resolved' && now - (plan.resolvedAt ?? now) >= REOPEN_AFTER_MS) {
        plan.phase = 'open';
        plan.step = 0;
        plan.tried = [];
        delete plan.current;
      }
      followLadder(plan, d.recommendedActions);
      plan.confidence = top?.confidence ?? 0;
      if (top) plan.root = top.object;
      plan.updatedAt = now;
      prune(b, now);
      return b;
    }),
  );
  const plan = written.get(BOOK_KEY)?.plans[d.incidentId];
  if (!plan || plan.phase === 'resolved') return undefined;
  if (stale) {
    log.debug({ incident: d.incidentId, sequence: d.sequence }, 'stale diagnosis (a later one was seen)');
    return undefined;
  }
  if (!settled(plan, now, deps)) {
    log.debug({ incident: d.incidentId }, 'incident still gathering anomalies; deciding on a later tick');
    return undefined;
  }
  return decideStep(d.incidentId, now, deps, log);
}

/**
 * Whether a plan's incident has settled: no diagnosis for the group wait (one scrape's anomalies
 * arrive one by one, each with its diagnosis; the decision waits for the last). An incident that
 * keeps growing is decided anyway once it is SETTLE_LIMIT_MS old, so it cannot be starved.
 */
const settled = (plan: Plan, now: number, deps: PolicyDeps) => {
  const wait = deps.groupWaitMs ?? 0;
  return (
    now - (plan.diagnosedAt ?? plan.createdAt) >= wait ||
    now - plan.createdAt >= SETTLE_LIMIT_MS ||
    rollsBackRoot(plan)
  );
};
/** An incident is decided on at the latest this long after its first diagnosis. */
const SETTLE_LIMIT_MS = 10 * 60_000;

/**
 * The one remedy decided without the group wait: rolling back the workload the diagnosis names as
 * the root, confidently — the failure began with its own rollout. Going back to the revision that
 * ran before is what an operator does first, and waiting only lets the new revision hurt longer
 * (its pods are OOM-killed or crash within a minute). Never seen on a benign or other diagnosis
 * in the scenarios and their variants; a rollback of another workload (a ConfigMap's consumer)
 * still waits.
 */
function rollsBackRoot(plan: Plan): boolean {
  const next = plan.actions[plan.step];
  return (
    next?.type === 'rollbackDeployment' &&
    plan.root !== undefined &&
    targetKey(next) === targetKey({ target: plan.root }) &&
    plan.confidence >= ROLLBACK_AT_ONCE_CONFIDENCE
  );
}
const ROLLBACK_AT_ONCE_CONFIDENCE = 0.8;

/**
 * scrape's follow-up tick (only while an Incident is open): decide the plans that settled since
 * their last diagnosis, and look again at a denial that may have lifted or an approval request
 * that expired — without waiting for the incident's next anomaly. Only for Incidents still open.
 */
async function onTick(at: number, deps: PolicyDeps, log: Logger): Promise<OutboundEvent[] | undefined> {
  if (!Number.isFinite(at)) return undefined;
  const loaded = await withStore(() => deps.store.load<PolicyBook>([BOOK_KEY]));
  const plans = Object.values(loaded.get(BOOK_KEY)?.value.plans ?? {}).filter((p) => {
    const action = p.actions[p.step];
    return p.phase === 'open' && action !== undefined && settled(p, at, deps) && needsDecision(p, action, at);
  });
  if (plans.length === 0) return undefined;
  const open = new Set(
    (await listIncidents(deps.kube)).filter(isOpenIncident).map((i) => i.metadata?.name ?? ''),
  );
  const events: OutboundEvent[] = [];
  for (const p of plans) {
    if (!open.has(p.id)) continue;
    const out = await decideStep(p.id, at, deps, log);
    if (out) events.push(...(Array.isArray(out) ? out : [out]));
  }
  return events.length > 0 ? events : undefined;
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
      moveOn(plan);
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

export function createDeps(config: Config): Promise<PolicyDeps> {
  return Promise.resolve({
    ...clusterAndStore(config, (c) => createKubeClients(loadKubeConfig(c))),
    ownNamespace: config.namespace,
    defaultMode: config.mode,
    groupWaitMs: config.groupWaitMs,
  });
}
