import { createHash } from 'node:crypto';
import type { AnomalyData } from '../../shared/contracts/index.js';
import { ownersOf } from './diagnose.js';
import { keyOf, workloadOf, type Topology } from './topology.js';

/** One open incident as rca keeps it in the store between invocations. */
export interface OpenIncident {
  readonly id: string;
  readonly start: number;
  last: number;
  keys: string[];
  anomalies: AnomalyData[];
  /** Root cause last reported (an Event is written when it changes). */
  root?: string;
  /** Revision: grows with every anomaly joined (orders the incident's diagnoses). */
  seq?: number;
}

export interface IncidentBook {
  incidents: OpenIncident[];
}

/** Anomalies later than this after an incident's last one open a new incident. */
export const JOIN_WINDOW_MS = 15 * 60_000;
/** An incident with nothing new for this long is no longer open for joining. */
export const CLOSE_AFTER_MS = 60 * 60_000;
const MAX_ANOMALIES = 200;
/** Deviations of one signal that begin this close together are grouped (about two scrapes). */
export const COMMON_ONSET_MS = 2 * 60_000;

/**
 * What else an anomaly may join an incident through, beyond its footprint: for a node, the pods it
 * hosts and their workloads. A node's usage rising with one of its pods' is part of that pod's
 * incident even when the node's anomaly arrives before the pod's (same scrape, any order). Only
 * for matching: the incident's own keys grow by the footprint, so it does not start to absorb
 * every workload that happens to share the node.
 */
function reach(topology: Topology, a: AnomalyData, keys: Set<string>): Set<string> {
  if (a.entity.kind !== 'Node') return keys;
  const out = new Set(keys);
  for (const e of topology.out.get(keyOf(a.entity)) ?? []) {
    if (e.relation !== 'hosts') continue;
    out.add(e.to);
    const workload = workloadOf(topology, e.to);
    if (workload) out.add(workload);
  }
  return out;
}

/** The objects an anomaly touches for grouping: the object, its owners, its node, its services. */
export function footprint(topology: Topology, a: AnomalyData): Set<string> {
  const keys = ownersOf(topology, a);
  const k = keyOf(a.entity);
  for (const e of topology.in.get(k) ?? []) if (e.relation === 'hosts') keys.add(e.from);
  for (const e of topology.out.get(k) ?? []) if (e.relation === 'serves') keys.add(e.to);
  return keys;
}

function incidentId(a: AnomalyData, at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '').slice(0, 13).toLowerCase();
  return `inc-${stamp}-${createHash('sha256').update(a.anomalyId).digest('hex').slice(0, 5)}`;
}

/**
 * Put an anomaly into the open incident it belongs to — close in time and sharing an object, or
 * connected through the topology — or open a new one. A re-delivered anomaly (same id) changes
 * nothing. Returns the incident and whether it is new.
 */
export function assignAnomaly(
  book: IncidentBook,
  topology: Topology,
  a: AnomalyData,
  now: number,
): { incident: OpenIncident; created: boolean; duplicate: boolean } {
  book.incidents = book.incidents.filter((i) => now - i.last <= CLOSE_AFTER_MS);
  const at = Date.parse(a.observedAt) || now;
  for (const inc of book.incidents) {
    if (inc.anomalies.some((x) => x.anomalyId === a.anomalyId && x.observedAt === a.observedAt))
      return { incident: inc, created: false, duplicate: true };
  }
  const keys = footprint(topology, a);
  const reached = reach(topology, a, keys);
  const open = book.incidents.filter(
    (i) =>
      at - i.last <= JOIN_WINDOW_MS &&
      (i.keys.some((k) => reached.has(k) || connected(topology, k, keys)) || commonOnset(i, a)),
  );
  const target = open.sort((x, y) => y.last - x.last)[0];
  if (target) {
    target.last = Math.max(target.last, at);
    target.keys = [...new Set([...target.keys, ...keys])];
    target.anomalies = [...target.anomalies.filter((x) => x.anomalyId !== a.anomalyId), a].slice(
      -MAX_ANOMALIES,
    );
    target.seq = (target.seq ?? target.anomalies.length) + 1;
    return { incident: target, created: false, duplicate: false };
  }
  const incident: OpenIncident = {
    id: incidentId(a, at),
    start: Date.parse(a.onset) || at,
    last: at,
    keys: [...keys],
    anomalies: [a],
    seq: 1,
  };
  book.incidents.push(incident);
  return { incident, created: true, duplicate: false };
}

/**
 * Whether the incident holds a deviation of the same signal in the same namespace that began
 * within COMMON_ONSET_MS of this one: the same change on unconnected workloads at once has a common
 * cause (more requests, a shared dependency the topology does not show), not one fault each.
 */
function commonOnset(incident: OpenIncident, a: AnomalyData): boolean {
  if (a.kind !== 'deviation') return false;
  const onset = Date.parse(a.onset);
  return incident.anomalies.some(
    (x) =>
      x.kind === 'deviation' &&
      x.signal === a.signal &&
      x.entity.namespace === a.entity.namespace &&
      Math.abs(Date.parse(x.onset) - onset) <= COMMON_ONSET_MS,
  );
}

/** Whether `key` is one dependency hop (calls/configures/hosts) from any of `keys`. */
function connected(topology: Topology, key: string, keys: Set<string>): boolean {
  for (const e of [...(topology.out.get(key) ?? []), ...(topology.in.get(key) ?? [])]) {
    if (e.relation === 'owns') continue;
    if (keys.has(e.from === key ? e.to : e.from)) return true;
  }
  return false;
}
