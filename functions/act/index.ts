import type { Config } from '../../shared/config/index.js';
import {
  EVENT_TYPES,
  KURATIVE_GROUP,
  KURATIVE_VERSION,
  type ActionType,
  type DecisionData,
  type RemediationData,
} from '../../shared/contracts/index.js';
import { createKubeClients, loadKubeConfig, type KubeClients } from '../../shared/kube/index.js';
import {
  describeRef,
  getIncident,
  listIncidents,
  recordKubeEvent,
  updateIncident,
} from '../../shared/kube/incidents.js';
import type { Logger } from '../../shared/log/index.js';
import { badEvent, defineFunction, type OutboundEvent } from '../../shared/runtime/index.js';
import { clusterAndStore, updateMany, withStore, type BaselineStore } from '../../shared/store/index.js';
import { perform, type ActionResult } from './actions.js';
import { verify, type PendingVerification } from './verify.js';

export interface ActDeps {
  readonly store: BaselineStore;
  readonly kube: KubeClients;
}

/** Decisions act has taken up (idempotency) and actions waiting for verification. */
interface ActBook {
  done: Record<string, { at: number; status: string }>;
  pending: PendingVerification[];
}

const BOOK_KEY = 'act|book';
const EMPTY: ActBook = { done: {}, pending: [] };
const KEEP_MS = 7 * 24 * 3_600_000;
/** A claim older than this without a result is from an instance that died mid-action: take it over. */
const STALE_CLAIM_MS = 5 * 60_000;

const EVENT_REASON: Record<ActionType, string> = {
  restartPod: 'KurativeRestart',
  evictPod: 'KurativeEviction',
  cordonNode: 'KurativeCordon',
  moveOffNode: 'KurativeMoveOffNode',
  drainNode: 'KurativeDrain',
  adjustResources: 'KurativeResize',
  expandVolume: 'KurativeExpandVolume',
  scaleWorkload: 'KurativeScale',
  rollbackDeployment: 'KurativeRollback',
  quarantinePod: 'KurativeQuarantine',
  notify: 'KurativeNotice',
};

type Accepted = typeof EVENT_TYPES.decision | typeof EVENT_TYPES.tick;

/** act: perform approved decisions exactly once, and verify each action after its window. */
export const definition = defineFunction<ActDeps, Accepted>({
  name: 'act',
  accepts: [EVENT_TYPES.decision, EVENT_TYPES.tick],
  handle: async (event, { deps, log }) => {
    if (event.type === EVENT_TYPES.tick) {
      const now = Date.parse(event.data.at) || Date.parse(event.time ?? '') || Date.now();
      return verifyDue(now, deps, log);
    }
    const d = event.data;
    // Only approved decisions reach act through its Trigger; anything else sent here is refused.
    if (d.verdict !== 'approved')
      throw badEvent(`decision ${d.decisionId} is ${d.verdict}, not approved: nothing to do`);
    return execute(d, deps, log);
  },
});

async function claim(store: BaselineStore, id: string, now: number): Promise<boolean> {
  let claimed = false;
  await withStore(() =>
    updateMany<ActBook>(store, [BOOK_KEY], (_k, current) => {
      const book = structuredClone(current ?? EMPTY);
      const seen = book.done[id];
      claimed = !seen || (seen.status === 'running' && now - seen.at > STALE_CLAIM_MS);
      if (claimed) book.done[id] = { at: now, status: 'running' };
      for (const [k, v] of Object.entries(book.done)) if (now - v.at > KEEP_MS) delete book.done[k];
      return book;
    }),
  );
  return claimed;
}

async function release(store: BaselineStore, id: string): Promise<void> {
  await withStore(() =>
    updateMany<ActBook>(store, [BOOK_KEY], (_k, current) => {
      const book = structuredClone(current ?? EMPTY);
      delete book.done[id];
      return book;
    }),
  );
}

async function execute(d: DecisionData, deps: ActDeps, log: Logger): Promise<OutboundEvent | undefined> {
  const now = Date.parse(d.decidedAt);
  if (!(await claim(deps.store, d.decisionId, now))) {
    log.info({ decision: d.decisionId }, 'decision already taken up: not acting twice');
    return undefined;
  }
  let result: ActionResult;
  try {
    result = await perform({ kube: deps.kube, dryRun: d.dryRun, incidentId: d.incidentId }, d.action);
  } catch (error) {
    // Nothing (or not all) was done and the failure may pass: let the broker deliver it again.
    await release(deps.store, d.decisionId);
    throw error;
  }
  const status: RemediationData['status'] =
    d.dryRun && result.status === 'succeeded' ? 'dryRun' : result.status;
  const verifyAfterMs = (d.verifyAfterSeconds ?? 300) * 1000;
  const verifies =
    status === 'succeeded' &&
    d.action.type !== 'notify' &&
    (result.verify.length > 0 || d.action.target.kind === 'Node');
  await withStore(() =>
    updateMany<ActBook>(deps.store, [BOOK_KEY], (_k, current) => {
      const book = structuredClone(current ?? EMPTY);
      book.done[d.decisionId] = { at: now, status };
      book.pending = book.pending.filter((p) => p.decisionId !== d.decisionId);
      if (verifies)
        book.pending.push({
          incidentId: d.incidentId,
          decisionId: d.decisionId,
          action: d.action,
          actedAt: now,
          verifyAt: now + verifyAfterMs,
          verify: result.verify,
        });
      return book;
    }),
  );
  const at = new Date(now);
  const what = `${d.action.type} ${describeRef(d.action.target)}`;
  const summary = `${status === 'dryRun' ? 'dry run: ' : ''}${result.message}`;
  await recordKubeEvent(deps.kube, d.action.target, {
    reason: EVENT_REASON[d.action.type],
    message: `kurative incident ${d.incidentId}, decision ${d.decisionId}: ${summary}`,
    type: status === 'failed' ? 'Warning' : 'Normal',
    component: 'kurative-act',
    at,
  });
  await updateIncident(
    deps.kube,
    d.incidentId,
    {
      set: {
        action: `${what}${status === 'dryRun' ? ' (dry run)' : ''}`,
        outcome: verifies
          ? `verifying in ${Math.round(verifyAfterMs / 1000)}s`
          : status === 'failed'
            ? `failed: ${result.message}`.slice(0, 300)
            : summary.slice(0, 300),
        ...(verifies ? { phase: 'Mitigating' as const } : {}),
      },
      history: `action ${d.decisionId} ${status}: ${what} — ${summary}${result.changes.length ? ` [${result.changes.slice(0, 10).join('; ')}]` : ''}`,
      condition: {
        type: 'Acted',
        status: status === 'failed' ? 'False' : 'True',
        reason: status,
        message: `${what}: ${summary}`.slice(0, 500),
      },
    },
    at,
  );
  log.info(
    { incident: d.incidentId, decision: d.decisionId, status, changes: result.changes.length },
    'acted',
  );
  return {
    type: EVENT_TYPES.remediation,
    incidentId: d.incidentId,
    subject: describeRef(d.action.target),
    data: {
      incidentId: d.incidentId,
      decisionId: d.decisionId,
      action: d.action,
      status,
      at: at.toISOString(),
      message: summary,
      dryRun: d.dryRun,
      changes: result.changes,
    },
  };
}

/** An incident nothing was done about is over when no anomaly has joined it for this long. */
const QUIET_MS = 30 * 60_000;

/**
 * Incidents that were only observed (or whose action was denied) and whose symptoms stopped:
 * Resolved, with the time they lasted, so `kubectl get incidents` does not keep them open forever.
 */
async function closeQuiet(now: number, deps: ActDeps, log: Logger): Promise<void> {
  const at = new Date(now);
  for (const i of await listIncidents(deps.kube)) {
    const st = i.status ?? {};
    const last = Date.parse(st.lastSeenAt ?? '');
    if ((st.phase !== 'Detected' && st.phase !== 'Diagnosed') || !(now - last > QUIET_MS)) continue;
    const started = Date.parse(st.startedAt ?? '');
    const lasted = Number.isFinite(started) ? Math.max(0, Math.round((last - started) / 1000)) : undefined;
    const message = `no anomaly for ${Math.round((now - last) / 60_000)} min: the symptoms stopped without any action`;
    await updateIncident(
      deps.kube,
      i.metadata.name,
      {
        set: {
          phase: 'Resolved',
          resolvedAt: at.toISOString(),
          outcome: message,
          ...(lasted === undefined ? {} : { timeToRecoverSeconds: lasted }),
        },
        history: `resolved: ${message}`,
        condition: { type: 'Verified', status: 'True', reason: 'SymptomsStopped', message },
      },
      at,
    );
    log.info({ incident: i.metadata.name }, 'resolved without action');
  }
}

/** On the scrape schedule: check every action whose verification window has passed. */
async function verifyDue(now: number, deps: ActDeps, log: Logger): Promise<OutboundEvent[] | undefined> {
  await closeQuiet(now, deps, log);
  const loaded = await withStore(() => deps.store.load<ActBook>([BOOK_KEY]));
  const due = (loaded.get(BOOK_KEY)?.value.pending ?? []).filter((p) => p.verifyAt <= now);
  if (due.length === 0) return undefined;
  const results = await Promise.all(due.map(async (p) => ({ p, r: await verify(deps.kube, p) })));
  // Take the checked entries off the list; only the instance that removes one reports it.
  const mine = new Set<string>();
  await withStore(() =>
    updateMany<ActBook>(deps.store, [BOOK_KEY], (_k, current) => {
      mine.clear();
      const book = structuredClone(current ?? EMPTY);
      const ids = new Set(due.map((p) => p.decisionId));
      book.pending = book.pending.filter((p) => {
        if (!ids.has(p.decisionId)) return true;
        mine.add(p.decisionId);
        return false;
      });
      return book;
    }),
  );
  const out: OutboundEvent[] = [];
  const at = new Date(now);
  for (const { p, r } of results.filter((x) => mine.has(x.p.decisionId))) {
    const what = `${p.action.type} ${describeRef(p.action.target)}`;
    const incident = await getIncident(deps.kube, p.incidentId);
    const started = Date.parse(incident?.status?.startedAt ?? '');
    const ttr = Number.isFinite(started) ? Math.max(0, Math.round((now - started) / 1000)) : undefined;
    await updateIncident(
      deps.kube,
      p.incidentId,
      {
        set: r.resolved
          ? {
              phase: 'Resolved',
              resolvedAt: at.toISOString(),
              outcome: `resolved: ${r.message}`.slice(0, 300),
              ...(ttr === undefined ? {} : { timeToRecoverSeconds: ttr }),
            }
          : { outcome: `not resolved: ${r.message}`.slice(0, 300) },
        history: `verification of ${p.decisionId} (${what}): ${r.resolved ? 'resolved' : 'not resolved'} — ${r.message}`,
        condition: {
          type: 'Verified',
          status: r.resolved ? 'True' : 'False',
          reason: r.resolved ? 'Recovered' : 'SymptomsPersist',
          message: r.message.slice(0, 500),
        },
      },
      at,
    );
    await recordKubeEvent(
      deps.kube,
      { apiVersion: `${KURATIVE_GROUP}/${KURATIVE_VERSION}`, kind: 'Incident', name: p.incidentId },
      {
        reason: r.resolved ? 'Recovered' : 'NotRecovered',
        message: `${what}: ${r.message}${r.resolved && ttr !== undefined ? ` (time to recover ${ttr}s)` : ''}`,
        type: r.resolved ? 'Normal' : 'Warning',
        component: 'kurative-act',
        at,
      },
    );
    log.info({ incident: p.incidentId, decision: p.decisionId, resolved: r.resolved }, 'verified');
    out.push({
      type: EVENT_TYPES.remediation,
      incidentId: p.incidentId,
      subject: describeRef(p.action.target),
      data: {
        incidentId: p.incidentId,
        decisionId: p.decisionId,
        action: p.action,
        status: r.resolved ? 'verified' : 'unresolved',
        at: at.toISOString(),
        message: r.message,
        dryRun: false,
        changes: [],
      },
    });
  }
  return out.length ? out : undefined;
}

export function createDeps(config: Config): Promise<ActDeps> {
  return Promise.resolve(clusterAndStore(config, (c) => createKubeClients(loadKubeConfig(c))));
}
