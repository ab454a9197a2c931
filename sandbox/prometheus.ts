import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulator } from './simulator/simulator.js';

/** One series the simulated applications expose (what a Prometheus scrape of them would hold). */
interface Series {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

type Matcher = { label: string; op: '=' | '!=' | '=~' | '!~'; value: string };

/** Parse the PromQL subset served: `metric_name{label="v", label=~"re", …}`. */
export function parseSelector(query: string): { name: string; matchers: Matcher[] } {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{([^}]*)\})?\s*$/.exec(query);
  if (!m) throw new Error(`unsupported query (only metric{label matchers} selectors are served): ${query}`);
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
 * A Prometheus HTTP API (`GET /api/v1/query`, instant vectors) over the simulated applications'
 * request rate, error ratio and latency, on plain HTTP on loopback as an in-cluster Prometheus is.
 */
export class SandboxPrometheus {
  private server: Server | undefined;

  constructor(private readonly sim: Simulator) {}

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://prometheus');
      if (url.pathname !== '/api/v1/query') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'error', errorType: 'not_found', error: 'unknown path' }));
        return;
      }
      try {
        const { name, matchers } = parseSelector(url.searchParams.get('query') ?? '');
        const at = this.sim.clock.epochMs / 1000;
        const result = appSeries(this.sim)
          .filter((s) => s.name === name && matches(s, matchers))
          .map((s) => ({ metric: { __name__: s.name, ...s.labels }, value: [at, String(s.value)] }));
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
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
