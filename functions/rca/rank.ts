// Root-cause ranking over the dependency graph.
//
// Two views are combined. (1) A personalised random walk over the anomaly-weighted graph, walking
// from symptoms towards what influences them (MicroRCA, Wu et al., NOMS 2020): objects upstream
// of many anomalous objects collect rank. (2) Each object's own anomaly strength (BARO, Pham et al.,
// FSE 2024: plain robust per-entity deviation ranks as well as causal graphs on real data).
// A recent change on (or configuring) an object before the onset multiplies its rank (change
// prior): most incidents follow a change. Only objects that can be a cause are ranked:
// workloads, nodes, ConfigMaps/Secrets, services and bare pods.
import type { AnomalyData, ObjectRef } from '../../shared/contracts/index.js';
import type { Change } from './changes.js';
import { keyOf, servingWorkload, workloadOf, type Edge, type Topology } from './topology.js';

export interface RankOptions {
  readonly damping: number;
  readonly iterations: number;
  /** How much a change right before the onset multiplies an object's rank (1 + weight). */
  readonly changeWeight: number;
  /** Time scale of the change prior (ms): a change this long before the onset counts e^−1. */
  readonly changeTauMs: number;
  /** Weight of an object's own anomaly strength next to the walk. */
  readonly selfWeight: number;
}

export const DEFAULT_RANK: RankOptions = {
  damping: 0.85,
  iterations: 60,
  changeWeight: 3,
  changeTauMs: 30 * 60_000,
  selfWeight: 0.5,
};

export interface RankedCause {
  readonly key: string;
  readonly object: ObjectRef;
  readonly score: number;
  readonly walk: number;
  readonly self: number;
  readonly change: Change | undefined;
}

// A Service only routes: what is wrong behind it is the workload that serves it.
const CAUSE_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Node',
  'ConfigMap',
  'Secret',
  'PersistentVolumeClaim',
  'Pod',
]);

/** The object an anomaly is about, as a graph key (containers fold into their pod). */
export function anomalyKey(a: AnomalyData): string {
  return keyOf(a.entity);
}

/**
 * Strength in [0, 1] of one anomaly: symptoms and critical findings weigh most. A node's usage is
 * the sum of its pods' usage, so a node usage deviation is mostly an effect of its pods and weighs
 * little; a node's own symptoms (NotReady, pressure) weigh fully.
 */
export function anomalyWeight(a: AnomalyData): number {
  const severity = a.severity === 'critical' ? 1 : a.severity === 'warning' ? 0.6 : 0.3;
  const kind = a.kind === 'symptom' ? 1 : a.kind === 'forecast' ? 0.9 : Math.min(1, Math.max(0.3, a.score));
  const aggregate = a.entity.kind === 'Node' && a.kind !== 'symptom' ? 0.2 : 1;
  return severity * kind * aggregate;
}

/** Per-object anomaly strength: 1 − Π(1 − wᵢ) over its anomalies (more evidence, more certain). */
export function anomalyStrength(anomalies: readonly AnomalyData[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const a of anomalies) {
    const k = anomalyKey(a);
    out.set(k, 1 - (1 - (out.get(k) ?? 0)) * (1 - anomalyWeight(a)));
  }
  return out;
}

/** Strength lifted to the objects that can be causes: a pod's anomalies also count for its workload. */
function liftedStrength(topology: Topology, strength: Map<string, number>): Map<string, number> {
  const out = new Map(strength);
  const perWorkload = new Map<string, number[]>();
  // A pod that mounts an abnormal claim (its volume filling up) has its anomalies explained by the
  // claim: they count for the claim, in full, and not for the pod's workload.
  const onAbnormalClaim = (podKey: string) =>
    (topology.in.get(podKey) ?? []).filter((e) => e.relation === 'stores' && (strength.get(e.from) ?? 0) > 0);
  for (const [k, s] of strength) {
    if (!k.startsWith('Pod/')) continue;
    const claims = onAbnormalClaim(k);
    for (const e of claims) out.set(e.from, 1 - (1 - (out.get(e.from) ?? 0)) * (1 - s));
    if (claims.length > 0) continue;
    // Every owner up the chain (ReplicaSet, then Deployment) shares its pods' anomalies.
    let current = k;
    for (let hop = 0; hop < 3; hop++) {
      const owner = (topology.in.get(current) ?? []).find((e) => e.relation === 'owns');
      if (!owner) break;
      perWorkload.set(owner.from, [...(perWorkload.get(owner.from) ?? []), s]);
      current = owner.from;
    }
  }
  for (const [w, list] of perWorkload) {
    const combined = 1 - list.reduce((p, s) => p * (1 - s), 1);
    out.set(w, 1 - (1 - (out.get(w) ?? 0)) * (1 - combined));
  }
  // A Service's own signals (errors, latency) are its backing workload's.
  for (const [k, s] of strength) {
    if (!k.startsWith('Service/')) continue;
    const workloads = new Set(
      (topology.in.get(k) ?? [])
        .filter((e) => e.relation === 'serves')
        .map((e) => servingWorkload(topology, e.from))
        .filter((w): w is string => w !== undefined),
    );
    for (const w of workloads) out.set(w, 1 - (1 - (out.get(w) ?? 0)) * (1 - s));
  }
  // A ConfigMap or Secret shares, at half weight, the anomalies of the pods it configures: alone it
  // is a less likely cause than the workload, but a change on it right before the onset tips it.
  for (const [k, s] of strength) {
    if (!k.startsWith('Pod/')) continue;
    for (const e of topology.in.get(k) ?? []) {
      if (e.relation !== 'configures') continue;
      out.set(e.from, 1 - (1 - (out.get(e.from) ?? 0)) * (1 - s / 2));
    }
  }
  return out;
}

const MINOR_CHANGES = new Set<Change['kind']>(['restart', 'scale', 'remediation']);

function changePrior(
  changes: readonly Change[],
  key: string,
  onset: number,
  tauMs: number,
): { value: number; change: Change | undefined } {
  let best: { value: number; change: Change | undefined } = { value: 0, change: undefined };
  for (const c of changes) {
    if (c.object !== key) continue;
    // Changes after the onset cannot explain it (2 minutes of slack for clock and scrape delay).
    if (onset - c.at < -120_000) continue;
    // A config change counts from when it took effect (a pod started with it), if later.
    const lead = onset - Math.max(c.at, c.effectiveAt ?? c.at);
    // A restart changes no code or config (pods only re-read what they depend on), scaling changes
    // only capacity, and kurative's own remediation answered the fault: all weigh little.
    const value = Math.exp(-Math.max(0, lead) / tauMs) * (MINOR_CHANGES.has(c.kind) ? 0.1 : 1);
    if (value > best.value) best = { value, change: c };
  }
  return best;
}

/**
 * Personalised PageRank on the reversed influence graph (a walker at a symptom steps to what
 * influences it, preferring anomalous objects), restarted at anomalous objects.
 */
function walk(
  topology: Topology,
  keys: readonly string[],
  strength: Map<string, number>,
  lifted: Map<string, number>,
  options: RankOptions,
): Map<string, number> {
  const index = new Map(keys.map((k, i) => [k, i]));
  const n = keys.length;
  const restart = new Float64Array(n);
  let total = 0;
  keys.forEach((k, i) => {
    restart[i] = strength.get(k) ?? 0;
    total += restart[i] ?? 0;
  });
  if (total === 0) return new Map();
  for (let i = 0; i < n; i++) restart[i] = (restart[i] ?? 0) / total;
  // Transitions: mostly upstream (towards causes), a little downstream so isolated parts connect.
  const transitions: { to: number; w: number }[][] = keys.map((k) => {
    const up = (topology.in.get(k) ?? []).map((e: Edge) => ({ key: e.from, w: 1 }));
    const down = (topology.out.get(k) ?? []).map((e: Edge) => ({ key: e.to, w: 0.1 }));
    const list = [...up, ...down]
      .map((x) => ({ to: index.get(x.key) ?? -1, w: x.w * (0.05 + (lifted.get(x.key) ?? 0)) }))
      .filter((x) => x.to >= 0);
    const sum = list.reduce((s, x) => s + x.w, 0);
    return sum > 0 ? list.map((x) => ({ to: x.to, w: x.w / sum })) : [];
  });
  let rank = Float64Array.from(restart);
  for (let it = 0; it < options.iterations; it++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = rank[i] ?? 0;
      const t = transitions[i] ?? [];
      if (t.length === 0) {
        for (let j = 0; j < n; j++) next[j] = (next[j] ?? 0) + options.damping * r * (restart[j] ?? 0);
        continue;
      }
      for (const { to, w } of t) next[to] = (next[to] ?? 0) + options.damping * r * w;
    }
    for (let j = 0; j < n; j++) next[j] = (next[j] ?? 0) + (1 - options.damping) * (restart[j] ?? 0);
    rank = next;
  }
  return new Map(keys.map((k, i) => [k, rank[i] ?? 0]));
}

/** Objects within `hops` of any anomalous object (undirected), to keep the walk local and bounded. */
function neighbourhood(topology: Topology, seeds: Iterable<string>, hops: number): string[] {
  const seen = new Set<string>();
  let frontier = [...seeds].filter((s) => topology.nodes.has(s));
  for (const s of frontier) seen.add(s);
  for (let h = 0; h < hops; h++) {
    const next: string[] = [];
    for (const k of frontier) {
      for (const e of [...(topology.in.get(k) ?? []), ...(topology.out.get(k) ?? [])]) {
        const other = e.from === k ? e.to : e.from;
        if (!seen.has(other)) {
          seen.add(other);
          next.push(other);
        }
      }
    }
    frontier = next;
  }
  return [...seen].sort();
}

/** Rank every object that could have caused the anomalies, best first. */
export function rankCauses(
  topology: Topology,
  anomalies: readonly AnomalyData[],
  changes: readonly Change[],
  onset: number,
  options: RankOptions = DEFAULT_RANK,
): RankedCause[] {
  const strength = anomalyStrength(anomalies);
  const lifted = liftedStrength(topology, strength);
  const keys = neighbourhood(topology, strength.keys(), 3);
  const walked = walk(topology, keys, strength, lifted, options);
  const maxWalk = Math.max(1e-12, ...walked.values());
  const ranked: RankedCause[] = [];
  for (const k of keys) {
    const object = topology.nodes.get(k);
    if (!object || !CAUSE_KINDS.has(object.kind)) continue;
    // A pod that belongs to a workload is represented by its workload.
    if (object.kind === 'Pod' && workloadOf(topology, k)) continue;
    const w = (walked.get(k) ?? 0) / maxWalk;
    const self = lifted.get(k) ?? 0;
    // A ConfigMap or Secret changes as a whole: its own change counts; a workload also counts its config's.
    const prior = changePrior(changes, k, onset, options.changeTauMs);
    // A workload whose callee is itself abnormal may only be passing the fault on: its own signals
    // are explained by what it calls, so it yields to the callee (the most upstream abnormal service).
    const inherits = (topology.in.get(k) ?? []).some(
      (e) => e.relation === 'calls' && (strength.get(e.from) ?? 0) >= 0.5,
    );
    const score =
      (w + options.selfWeight * self) * (1 + options.changeWeight * prior.value) * (inherits ? 0.5 : 1);
    if (score <= 0) continue;
    ranked.push({ key: k, object, score, walk: w, self, change: prior.change });
  }
  // Nothing that could be a cause around them (a Service selecting no pod and no workload's
  // template): the abnormal objects themselves, so that the incident is still diagnosed and told.
  if (ranked.length === 0)
    for (const a of anomalies) {
      const k = anomalyKey(a);
      const s = strength.get(k) ?? 0;
      if (s <= 0 || ranked.some((r) => r.key === k)) continue;
      const { container: _container, ...object } = a.entity;
      ranked.push({
        key: k,
        object: topology.nodes.get(k) ?? object,
        score: s,
        walk: 0,
        self: s,
        change: undefined,
      });
    }
  return ranked.sort((a, b) => b.score - a.score || a.key.localeCompare(b.key));
}

/** Shortest influence path from the cause to an affected object (keys, cause first). */
export function causalPath(topology: Topology, from: string, to: string): string[] | undefined {
  const previous = new Map<string, string>([[from, '']]);
  const queue = [from];
  while (queue.length > 0) {
    const k = queue.shift() as string;
    if (k === to) {
      const path = [k];
      let p = previous.get(k);
      while (p) {
        path.unshift(p);
        p = previous.get(p);
      }
      return path;
    }
    for (const e of topology.out.get(k) ?? []) {
      if (!previous.has(e.to)) {
        previous.set(e.to, k);
        queue.push(e.to);
      }
    }
  }
  return undefined;
}
