// Human answers on an Incident: kurative.dev/approve and kurative.dev/reject annotations.
import * as k8s from '@kubernetes/client-node';
import {
  APPROVE_ANNOTATION,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  REJECT_ANNOTATION,
} from '../../shared/contracts/index.js';
import { apiFailure, statusOf, type KubeClients } from '../../shared/kube/index.js';
import { updateIncident } from '../../shared/kube/incidents.js';
import type { Logger } from '../../shared/log/index.js';
import type { OutboundEvent } from '../../shared/runtime/index.js';
import { updateMany, withStore } from '../../shared/store/index.js';
import { EMPTY_BOOK, type Plan, type PolicyBook, type StandingDecision } from './book.js';
import type { Decision } from './decide.js';
import { BOOK_KEY, decideStep, publishDecision, type PolicyDeps } from './decisions.js';

export interface IncidentEventObject {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
}

/**
 * A human answered on the Incident (`kurative.dev/approve=<action>` or `kurative.dev/reject`). The
 * annotation is consumed (removed) so it cannot approve a later decision by accident.
 */
export async function onIncidentUpdate(
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
