// The with/without report: the same seeded scenarios without kurative, in observe and in enforce
// mode, measured by the simulator (what users felt) and by the audit log (what kurative did).
import type { AuditRecord } from '../sandbox/apiserver/server.js';
import type { Outcome } from '../sandbox/simulator/outcomes.js';
import type { Scenario } from '../sandbox/simulator/scenario.js';
import type {
  ActionSpec,
  ObjectRef,
  RemediationData,
  RemediationPolicySpec,
} from '../shared/contracts/index.js';
import { parseQuantity } from '../shared/quantity/index.js';
import { ALWAYS_PROTECTED } from '../functions/policy/decide.js';
import { RELEASE } from './pipeline.js';

export const REPORT_MODES = ['none', 'observe', 'enforce'] as const;
export type ReportMode = (typeof REPORT_MODES)[number];
/** Modes a run can use: the report's three, and dryRun. */
export type RunMode = ReportMode | 'dryRun';

/** What one scenario run in one mode produced. */
export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly mode: RunMode;
  readonly startedAt: number;
  readonly outcome: Outcome;
  /** observedAt of the first anomaly kurative emitted. */
  readonly firstAnomalyAt: number | undefined;
  readonly remediations: RemediationData[];
  readonly audit: readonly AuditRecord[];
  readonly invocations: number;
  readonly cpuMs: number | undefined;
  readonly incidents: number;
  readonly wallSeconds: number;
}

/** kurative's own records: writing these is how it keeps humans informed, not an action. */
const RECORD_KEEPING = new Set(['incidents', 'events', 'detectors', 'remediationpolicies']);

/** Mutating requests that changed the cluster itself (anything but kurative's own records). */
export function clusterChanges(audit: readonly AuditRecord[]): AuditRecord[] {
  return audit.filter((a) => !RECORD_KEEPING.has(a.resource));
}

export interface ModeReport {
  readonly scenarios: number;
  /** Critical episodes (a workload down or failing > 25 % of requests) plus OOM kills. */
  readonly criticalIncidents: number;
  readonly outageMinutes: number;
  readonly oomKills: number;
  readonly crashes: number;
  /** Mean time from the fault's injection to kurative's first anomaly (null without detection). */
  readonly mttdSeconds: number | null;
  readonly detected: number;
  /**
   * Mean time to recover over the fault scenarios where users were hurt at all: from the first
   * impaired moment to the end of the last impaired stretch (or the end of the run if it never ended).
   */
  readonly mttrSeconds: number | null;
  readonly impairedScenarios: number;
  /** CPU used / CPU requested, averaged over the scenarios. */
  readonly utilisation: number;
  readonly memoryUtilisation: number;
  /** Actions that changed the cluster (succeeded, not dry runs, notify excluded). */
  readonly actions: number;
  /** Actions on benign scenarios or on objects unrelated to the scenario's true root cause. */
  readonly falseActions: number;
  /** Actions found beyond the policy's bounds by an independent check of their recorded changes. */
  readonly actionsBeyondPolicy: number;
  /** Mutating API requests other than kurative's own records (Incidents, Events, status). */
  readonly mutatingRequestsInObserve: number;
  readonly invocations: number;
  readonly cpuMs: number | null;
  readonly incidents: number;
  readonly invocationsPerIncident: number | null;
  readonly cpuMsPerIncident: number | null;
  /**
   * What a healthy cluster costs: invocations and CPU ms per simulated hour over the benign
   * scenarios (null without benign runs, or CPU when it was not measured).
   */
  readonly idleInvocationsPerHour: number | null;
  readonly idleCpuMsPerHour: number | null;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
const round = (x: number | null, digits = 1) =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;

function firstFaultAt(run: ScenarioRun): number | undefined {
  const at = run.scenario.faults.map((f) => f.at).sort((a, b) => a - b)[0];
  return at === undefined ? undefined : run.startedAt + at;
}

/** Time to recover of one run, in seconds; undefined when users were never hurt. */
export function recoverySeconds(run: ScenarioRun): number | undefined {
  const o = run.outcome;
  if (!o.firstImpairedAt) return undefined;
  const start = Date.parse(o.firstImpairedAt);
  const end = o.lastImpairedEndAt
    ? Date.parse(o.lastImpairedEndAt)
    : run.startedAt + o.simulatedSeconds * 1000;
  return Math.max(0, (end - start) / 1000);
}

/** Whether an action's target is the true root cause (or, for a configuration root, its consumer). */
export function relatedToRoot(target: ObjectRef, root: ObjectRef | undefined): boolean {
  if (!root) return false;
  if (
    target.kind === root.kind &&
    target.name === root.name &&
    (target.namespace ?? '') === (root.namespace ?? '')
  )
    return true;
  return (
    (root.kind === 'ConfigMap' || root.kind === 'Secret') &&
    target.namespace === root.namespace &&
    ['Deployment', 'StatefulSet', 'DaemonSet'].includes(target.kind)
  );
}

const changed = (r: RemediationData) => r.status === 'succeeded' && !r.dryRun && r.action.type !== 'notify';

function resourcesBeyond(
  p: ActionSpec['params'],
  b: NonNullable<RemediationPolicySpec['actions']['adjustResources']>,
): string | undefined {
  for (const [k, v] of Object.entries(p)) {
    const m = /\.limits\.(cpu|memory)$/.exec(k);
    if (!m) continue;
    const to = Number(v);
    const from = Number(p[`${k}.from`] ?? 0);
    const cap = parseQuantity(m[1] === 'memory' ? b.maxMemory : b.maxCpu) ?? 0;
    if (to > cap * (1 + 1e-9)) return `${k} ${to} above the cap ${cap}`;
    if (from > 0 && to > from * b.maxFactor * (1 + 1e-9)) return `${k} grew more than ${b.maxFactor}×`;
  }
  return undefined;
}

/**
 * Check one performed action against the policy it ran under, from what it recorded, without the
 * code that decided it: limits and claim sizes within maxFactor and the caps, replicas within min/max and maxStep,
 * evictions within the disruption share, nothing in a protected namespace.
 */
export function beyondPolicy(
  action: ActionSpec,
  changes: readonly string[],
  spec: RemediationPolicySpec,
  replicas: number | undefined,
): string | undefined {
  const ns = action.target.namespace;
  if (ns && [...ALWAYS_PROTECTED, RELEASE.namespace, ...spec.scope.protectedNamespaces].includes(ns))
    return `acted in protected namespace ${ns}`;
  const allowed = spec.actions[action.type];
  if (!allowed?.allowed) return `${action.type} is not allowed`;
  const p = action.params;
  if (action.type === 'adjustResources' && spec.actions.adjustResources)
    return resourcesBeyond(p, spec.actions.adjustResources);
  if (action.type === 'expandVolume' && spec.actions.expandVolume) {
    const b = spec.actions.expandVolume;
    const to = Number(p['storage']);
    const from = Number(p['from']);
    if (to > (parseQuantity(b.maxSize) ?? 0) * (1 + 1e-9)) return `storage ${to} above maxSize ${b.maxSize}`;
    if (to > from * b.maxFactor * (1 + 1e-9)) return `storage grew more than ${b.maxFactor}×`;
  }
  if (action.type === 'scaleWorkload' && spec.actions.scaleWorkload) {
    const b = spec.actions.scaleWorkload;
    const to = Number(p['replicas']);
    const from = Number(p['from']);
    if (to < b.minReplicas || to > b.maxReplicas)
      return `replicas ${to} outside ${b.minReplicas}–${b.maxReplicas}`;
    if (Math.abs(to - from) > b.maxStep) return `scaled by more than ${b.maxStep}`;
  }
  if ((action.type === 'restartPod' || action.type === 'evictPod') && replicas !== undefined) {
    const share = spec.actions[action.type]?.maxDisruptedShare ?? 0;
    const evicted = changes.filter((c) => c.startsWith('evicted ')).length;
    if (evicted > Math.max(0, Math.floor(share * replicas + 1e-9)))
      return `evicted ${evicted} of ${replicas} pods at once`;
  }
  return undefined;
}

function replicasOf(scenario: Scenario, target: ObjectRef): number | undefined {
  return scenario.workloads.find((w) => w.name === target.name && w.namespace === target.namespace)?.replicas;
}

/** Nodes kurative cordoned that were still counted at once, from the audit log (patches of nodes). */
function nodesCordoned(audit: readonly AuditRecord[]): number {
  return new Set(audit.filter((a) => a.resource === 'nodes' && !a.dryRun && a.code < 300).map((a) => a.name))
    .size;
}

export function summarise(runs: readonly ScenarioRun[], policy: RemediationPolicySpec): ModeReport {
  const faults = runs.filter((r) => !r.scenario.benign);
  const detections = faults.flatMap((r) => {
    const at = firstFaultAt(r);
    return r.firstAnomalyAt !== undefined && at !== undefined
      ? [Math.max(0, (r.firstAnomalyAt - at) / 1000)]
      : [];
  });
  const recoveries = faults.flatMap((r) => {
    const s = recoverySeconds(r);
    return s === undefined ? [] : [s];
  });
  let actions = 0;
  let falseActions = 0;
  let beyond = 0;
  let mutating = 0;
  for (const r of runs) {
    const performed = r.remediations.filter(changed);
    actions += performed.length;
    falseActions += r.scenario.benign
      ? performed.length
      : performed.filter((x) => !relatedToRoot(x.action.target, r.scenario.truth.rootCause)).length;
    beyond += performed.filter(
      (x) => beyondPolicy(x.action, x.changes, policy, replicasOf(r.scenario, x.action.target)) !== undefined,
    ).length;
    const maxNodes = Math.max(
      policy.actions.cordonNode?.maxNodes ?? 0,
      policy.actions.moveOffNode?.maxNodes ?? 0,
      policy.actions.drainNode?.maxNodes ?? 0,
    );
    if (nodesCordoned(r.audit) > maxNodes) beyond++;
    mutating += clusterChanges(r.audit).length;
  }
  const sum = (f: (r: ScenarioRun) => number) => runs.reduce((a, r) => a + f(r), 0);
  const incidents = sum((r) => r.incidents);
  const cpu = runs.every((r) => r.cpuMs !== undefined) ? sum((r) => r.cpuMs ?? 0) : null;
  const invocations = sum((r) => r.invocations);
  return {
    scenarios: runs.length,
    criticalIncidents: sum((r) => r.outcome.criticalIncidents + r.outcome.oomKills),
    outageMinutes: round(sum((r) => r.outcome.downtimeSeconds) / 60) ?? 0,
    oomKills: sum((r) => r.outcome.oomKills),
    crashes: sum((r) => r.outcome.crashes),
    mttdSeconds: round(mean(detections)),
    detected: detections.length,
    mttrSeconds: round(mean(recoveries)),
    impairedScenarios: recoveries.length,
    utilisation: round(mean(runs.map((r) => r.outcome.cpuUtilisation)) ?? 0, 4) ?? 0,
    memoryUtilisation: round(mean(runs.map((r) => r.outcome.memoryUtilisation)) ?? 0, 4) ?? 0,
    actions,
    falseActions,
    actionsBeyondPolicy: beyond,
    mutatingRequestsInObserve: mutating,
    invocations,
    cpuMs: cpu,
    incidents,
    invocationsPerIncident: incidents ? round(invocations / incidents) : null,
    cpuMsPerIncident: incidents && cpu !== null ? round(cpu / incidents) : null,
    ...idleCost(runs.filter((r) => r.scenario.benign)),
  };
}

function idleCost(
  benign: readonly ScenarioRun[],
): Pick<ModeReport, 'idleInvocationsPerHour' | 'idleCpuMsPerHour'> {
  const hours = benign.reduce((a, r) => a + r.outcome.simulatedSeconds, 0) / 3600;
  if (hours <= 0) return { idleInvocationsPerHour: null, idleCpuMsPerHour: null };
  const cpuKnown = benign.every((r) => r.cpuMs !== undefined);
  return {
    idleInvocationsPerHour: round(benign.reduce((a, r) => a + r.invocations, 0) / hours),
    idleCpuMsPerHour: cpuKnown ? round(benign.reduce((a, r) => a + (r.cpuMs ?? 0), 0) / hours) : null,
  };
}

const reduction = (before: number | null, after: number | null) =>
  before && after !== null ? round(((before - after) / before) * 100) : null;

export interface Report {
  readonly scenarios: string[];
  readonly modes: Record<ReportMode, ModeReport>;
  readonly perScenario: {
    scenario: string;
    mode: RunMode;
    benign: boolean;
    criticalIncidents: number;
    recoverySeconds: number | null;
    detectionSeconds: number | null;
    actions: string[];
    incidents: number;
    wallSeconds: number;
  }[];
  readonly summary: {
    mttrReduction: number | null;
    incidentReduction: number | null;
    utilisationGain: number | null;
    falseActions: number;
  };
  /** What the seed article claims, for comparison. */
  readonly claims: { incidentReduction: 87; mttrReduction: 94; utilisationGain: 23 };
}

export function buildReport(
  runs: readonly ScenarioRun[],
  policies: Record<ReportMode, RemediationPolicySpec>,
): Report {
  const modes = Object.fromEntries(
    REPORT_MODES.map((m) => [
      m,
      summarise(
        runs.filter((r) => r.mode === m),
        policies[m],
      ),
    ]),
  ) as Record<ReportMode, ModeReport>;
  const none = modes.none;
  const enforce = modes.enforce;
  return {
    scenarios: [...new Set(runs.map((r) => r.scenario.name))],
    modes,
    perScenario: runs.map((r) => {
      const at = firstFaultAt(r);
      return {
        scenario: r.scenario.name,
        mode: r.mode,
        benign: r.scenario.benign,
        criticalIncidents: r.outcome.criticalIncidents + r.outcome.oomKills,
        recoverySeconds: round(recoverySeconds(r) ?? null),
        detectionSeconds:
          r.firstAnomalyAt !== undefined && at !== undefined ? round((r.firstAnomalyAt - at) / 1000) : null,
        actions: r.remediations
          .filter((x) => x.status !== 'verified' && x.status !== 'unresolved')
          .map((x) => `${x.action.type} ${x.action.target.kind}/${x.action.target.name} ${x.status}`),
        incidents: r.incidents,
        wallSeconds: r.wallSeconds,
      };
    }),
    summary: {
      mttrReduction: reduction(none.mttrSeconds, enforce.mttrSeconds),
      incidentReduction: reduction(none.criticalIncidents, enforce.criticalIncidents),
      utilisationGain: none.utilisation
        ? round(((enforce.utilisation - none.utilisation) / none.utilisation) * 100)
        : null,
      falseActions: enforce.falseActions + modes.observe.falseActions,
    },
    claims: { incidentReduction: 87, mttrReduction: 94, utilisationGain: 23 },
  };
}

/** The closing line checks read. */
export function reportLine(r: Report): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : x.toFixed(1));
  return `report: mttr_reduction=${pct(r.summary.mttrReduction)} incident_reduction=${pct(r.summary.incidentReduction)} utilisation_gain=${pct(r.summary.utilisationGain)} false_actions=${r.summary.falseActions}`;
}
