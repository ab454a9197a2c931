import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseQuantity } from './apiserver/quantity.js';
import type { Simulator } from './simulator/simulator.js';
import { claimsOf, volumeCapacity } from './simulator/kubelet.js';
import { field } from './simulator/state.js';

/** One series the simulated applications expose (what a Prometheus scrape of them would hold). */
export interface Series {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

type Matcher = { label: string; op: '=' | '!=' | '=~' | '!~'; value: string };

/** Parse a PromQL selector: `metric_name{label="v", label=~"re", …}`. */
export function parseSelector(query: string): { name: string; matchers: Matcher[] } {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?\s*$/.exec(query);
  if (!m)
    throw new Error(
      `unsupported query (served: metric{label matchers}, optionally in sum/max by (labels) (…)): ${query}`,
    );
  const matchers: Matcher[] = [];
  for (const part of (m[2] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const mm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"$/.exec(part);
    if (!mm) throw new Error(`bad label matcher: ${part}`);
    matchers.push({
      label: mm[1] ?? '',
      op: mm[2] as Matcher['op'],
      value: (mm[3] ?? '').replace(/\\(.)/g, '$1'),
    });
  }
  return { name: m[1] ?? '', matchers };
}

/**
 * Parse a served query: a selector, or a selector aggregated by labels (`sum by (a, b) (selector)`
 * or `max by …`: what a per-object query over per-device, per-resource or per-node series needs).
 */
export function parseQuery(query: string): {
  name: string;
  matchers: Matcher[];
  by: string[] | undefined;
  op: 'sum' | 'max';
} {
  const agg = /^\s*(sum|max)\s+by\s*\(([^)]*)\)\s*\((.*)\)\s*$/s.exec(query);
  if (!agg) return { ...parseSelector(query), by: undefined, op: 'sum' };
  const by = (agg[2] ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  const bad = by.find((l) => !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(l));
  if (bad !== undefined) throw new Error(`bad label in by (…): ${bad}`);
  return { ...parseSelector(agg[3] ?? ''), by, op: agg[1] === 'max' ? 'max' : 'sum' };
}

/** Evaluate a parsed query over the series (an aggregation drops the metric name, as Prometheus does). */
export function evaluate(
  series: readonly Series[],
  query: ReturnType<typeof parseQuery>,
): { labels: Record<string, string>; value: number }[] {
  const selected = series.filter((s) => s.name === query.name && matches(s, query.matchers));
  const by = query.by;
  if (!by) return selected.map((s) => ({ labels: { __name__: s.name, ...s.labels }, value: s.value }));
  const groups = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const s of selected) {
    const labels = Object.fromEntries(by.flatMap((l) => (s.labels[l] ? [[l, s.labels[l]]] : [])));
    const key = JSON.stringify(labels);
    const group = groups.get(key);
    if (!group) groups.set(key, { labels, value: s.value });
    else group.value = query.op === 'max' ? Math.max(group.value, s.value) : group.value + s.value;
  }
  return [...groups.values()];
}

function matches(series: Series, matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => {
    const v = series.labels[m.label] ?? '';
    switch (m.op) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return new RegExp(`^(?:${m.value})$`).test(v);
      case '!~':
        return !new RegExp(`^(?:${m.value})$`).test(v);
    }
  });
}

/** The application signals of every simulated workload at the current tick. */
export function appSeries(sim: Simulator): Series[] {
  const out: Series[] = [];
  for (const w of sim.ctx.workloads.values()) {
    if (w.behaviour.rps <= 0) continue;
    const labels = { namespace: w.namespace, service: w.name };
    out.push({ name: 'http_requests_per_second', labels, value: w.signals.rps });
    out.push({ name: 'http_error_ratio', labels, value: w.signals.errorRatio });
    out.push({ name: 'http_latency_ms', labels, value: w.signals.latencyMs });
    // What a service mesh reports about who calls whom (Istio's standard request metric).
    for (const callee of w.behaviour.dependsOn) {
      out.push({
        name: 'istio_requests_total',
        labels: {
          source_workload: w.name,
          source_workload_namespace: w.namespace,
          destination_service_name: callee,
          destination_service_namespace: w.namespace,
        },
        value: w.signals.rps,
      });
    }
  }
  return out;
}

/**
 * Ephemeral storage of the scheduled pods' containers, per device as cAdvisor reports it (one root
 * device here), and their ephemeral-storage limits as kube-state-metrics reports them.
 */
export function storageSeries(sim: Simulator): Series[] {
  const out: Series[] = [];
  for (const rt of sim.ctx.pods.values()) {
    if (!rt.node || rt.evicted || !sim.ctx.nodes.get(rt.node)?.up) continue;
    const pod = sim.ctx.cluster.store.peek('/pods', rt.namespace, rt.name);
    const specs =
      (pod &&
        field<{ name: string; resources?: { limits?: Record<string, string> } }[]>(pod, 'spec.containers')) ??
      [];
    for (const c of rt.containers) {
      const labels = { namespace: rt.namespace, pod: rt.name, container: c.name };
      if (c.phase === 'running')
        out.push({
          name: 'container_fs_usage_bytes',
          labels: { ...labels, device: '/dev/vda1' },
          value: c.ephemeral,
        });
      const limit = parseQuantity(
        specs.find((x) => x.name === c.name)?.resources?.limits?.['ephemeral-storage'],
      );
      if (limit !== undefined)
        out.push({
          name: 'kube_pod_container_resource_limits',
          labels: { ...labels, node: rt.node, resource: 'ephemeral_storage', unit: 'byte' },
          value: limit,
        });
    }
  }
  return out;
}

/**
 * The kubelet's volume statistics of every claim a running pod mounts (as the kubelet reports them:
 * per node that mounts it, for mounted volumes only): used, available and capacity bytes.
 */
export function volumeSeries(sim: Simulator): Series[] {
  const out: Series[] = [];
  const ctx = sim.ctx;
  const reported = new Set<string>();
  for (const rt of ctx.pods.values()) {
    if (!rt.node || rt.evicted || !ctx.nodes.get(rt.node)?.up) continue;
    if (!rt.containers.some((c) => c.phase === 'running' || c.phase === 'backoff')) continue;
    for (const key of claimsOf(ctx.cluster.store.peek('/pods', rt.namespace, rt.name))) {
      const v = ctx.volumes.get(key);
      const capacity = v ? volumeCapacity(ctx, v) : undefined;
      if (!v || capacity === undefined || reported.has(`${rt.node}/${key}`)) continue;
      reported.add(`${rt.node}/${key}`);
      const labels = { namespace: rt.namespace, persistentvolumeclaim: v.name, node: rt.node };
      out.push(
        { name: 'kubelet_volume_stats_used_bytes', labels, value: v.used },
        { name: 'kubelet_volume_stats_available_bytes', labels, value: Math.max(0, capacity - v.used) },
        { name: 'kubelet_volume_stats_capacity_bytes', labels, value: capacity },
      );
    }
  }
  return out;
}

/** A past scrape of every series, as Prometheus's TSDB would hold it. */
interface Snapshot {
  readonly atMs: number;
  readonly series: readonly Series[];
}

/** How long history is kept, and how far back a range query's step looks for a sample (as Prometheus). */
const RETENTION_MS = 25 * 3_600_000;
const LOOKBACK_MS = 5 * 60_000;
/** Prometheus refuses range queries of more points per series than this. */
const MAX_POINTS = 11_000;

/** A range query over snapshots: each step takes the latest snapshot within the lookback. */
export function evaluateRange(
  history: readonly Snapshot[],
  query: ReturnType<typeof parseQuery>,
  range: { startMs: number; endMs: number; stepMs: number },
): { labels: Record<string, string>; values: [number, string][] }[] {
  const out = new Map<string, { labels: Record<string, string>; values: [number, string][] }>();
  let i = 0;
  for (let t = range.startMs; t <= range.endMs; t += range.stepMs) {
    while (i + 1 < history.length && (history[i + 1]?.atMs ?? Infinity) <= t) i++;
    const snapshot = history[i];
    if (!snapshot || snapshot.atMs > t || snapshot.atMs < t - LOOKBACK_MS) continue;
    for (const s of evaluate(snapshot.series, query)) {
      const key = JSON.stringify(s.labels);
      let entry = out.get(key);
      if (!entry) out.set(key, (entry = { labels: s.labels, values: [] }));
      entry.values.push([t / 1000, String(s.value)]);
    }
  }
  return [...out.values()];
}

function seconds(params: URLSearchParams, name: string): number {
  const value = Number(params.get(name) ?? Number.NaN);
  if (!Number.isFinite(value)) throw new Error(`invalid parameter "${name}"`);
  return value;
}

/**
 * A Prometheus HTTP API over the simulated applications' request rate, error ratio and latency and
 * the containers' ephemeral storage and its limits, on plain HTTP on loopback as an in-cluster
 * Prometheus is: `GET /api/v1/query` (instant vectors, now) and `GET /api/v1/query_range` (matrices
 * over the snapshots `record()` keeps, one per simulator tick, for a day).
 */
export class SandboxPrometheus {
  private server: Server | undefined;
  private readonly history: Snapshot[] = [];

  constructor(private readonly sim: Simulator) {}

  private current(): Series[] {
    return [...appSeries(this.sim), ...storageSeries(this.sim), ...volumeSeries(this.sim)];
  }

  /** Keep this tick's series (call once per simulator tick). */
  record(): void {
    const atMs = this.sim.clock.epochMs;
    this.history.push({ atMs, series: this.current() });
    while ((this.history[0]?.atMs ?? atMs) < atMs - RETENTION_MS) this.history.shift();
  }

  private answer(url: URL): unknown {
    const query = parseQuery(url.searchParams.get('query') ?? '');
    if (url.pathname === '/api/v1/query') {
      const at = this.sim.clock.epochMs / 1000;
      const result = evaluate(this.current(), query).map((s) => ({
        metric: s.labels,
        value: [at, String(s.value)],
      }));
      return { resultType: 'vector', result };
    }
    const p = url.searchParams;
    const [start, end, step] = [seconds(p, 'start'), seconds(p, 'end'), seconds(p, 'step')];
    if (step <= 0) throw new Error('zero or negative query resolution step widths are not accepted');
    if (end < start) throw new Error('end timestamp must not be before start time');
    if ((end - start) / step > MAX_POINTS)
      throw new Error(`exceeded maximum resolution of ${MAX_POINTS} points per timeseries`);
    const result = evaluateRange(this.history, query, {
      startMs: start * 1000,
      endMs: end * 1000,
      stepMs: step * 1000,
    }).map((s) => ({ metric: s.labels, values: s.values }));
    return { resultType: 'matrix', result };
  }

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://prometheus');
      if (url.pathname !== '/api/v1/query' && url.pathname !== '/api/v1/query_range') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'error', errorType: 'not_found', error: 'unknown path' }));
        return;
      }
      try {
        const data = this.answer(url);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', data }));
      } catch (error) {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: (error as Error).message }));
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
