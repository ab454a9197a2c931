// One scenario run through the whole system (or without kurative), with what the report needs.
import { resolve } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import {
  EVENT_TYPES,
  type AnomalyData,
  type FunctionName,
  type Mode,
  type RemediationData,
} from '../shared/contracts/index.js';
import type { Sandbox } from '../sandbox/sandbox.js';
import type { Scenario } from '../sandbox/simulator/scenario.js';
import { Pipeline, examplePolicy } from './pipeline.js';
import type { RunMode, ScenarioRun } from './report.js';

export interface RunSummary {
  scenario: string;
  mode: RunMode;
  benign: boolean;
  simulatedMinutes: number;
  wallSeconds: number;
  events: Record<string, number>;
  deliveries: Record<string, number>;
  deadLetters: number;
  outcome: ReturnType<Pipeline['sandbox']['simulator']['outcome']>;
  /** The Incident board at the end: one line per incident. */
  incidents: string[];
}

/** `kubectl get incidents`-like lines from the cluster's Incident objects. */
export function incidentBoard(pipeline: Pipeline): string[] {
  return pipeline.sandbox.simulator.cluster.store.list('kurative.dev/incidents').map((i) => {
    const st = (i['status'] ?? {}) as {
      phase?: string;
      severity?: string;
      rootCause?: string;
      faultClass?: string;
      confidence?: number;
      anomalies?: number;
    };
    return `${i.metadata.name} ${st.phase ?? '-'} ${st.severity ?? '-'} root=${st.rootCause ?? '-'} class=${st.faultClass ?? '-'} confidence=${st.confidence ?? '-'} anomalies=${st.anomalies ?? 0}`;
  });
}

export async function runScenario(
  scenario: Scenario,
  opts: {
    mode: RunMode;
    dir: string;
    /** Serve the functions in this process (tests) instead of one process each. */
    inProcess?: boolean;
    onLog?: (fn: FunctionName, line: string) => void;
    install?: (sandbox: Sandbox) => Promise<void>;
    /** Called after every tick with the event counts so far (the live view). */
    onStep?: (pipeline: Pipeline, events: Readonly<Record<string, number>>) => void;
  },
): Promise<{ summary: RunSummary; run: ScenarioRun }> {
  const events: Record<string, number> = {};
  const remediations: RemediationData[] = [];
  let firstAnomalyAt: number | undefined;
  const mode: Mode = opts.mode === 'none' ? 'observe' : opts.mode;
  const pipeline = await Pipeline.start({
    scenario,
    dir: resolve(opts.dir, `${scenario.name}-${opts.mode}`),
    mode,
    ...(opts.mode === 'none' ? { functions: [] } : { policies: [examplePolicy(mode)] }),
    onEvent: (e: CloudEventV1<unknown>) => {
      events[e.type] = (events[e.type] ?? 0) + 1;
      if (e.type === EVENT_TYPES.remediation) remediations.push(e.data as RemediationData);
      if (e.type === EVENT_TYPES.anomaly && firstAnomalyAt === undefined)
        firstAnomalyAt = Date.parse((e.data as AnomalyData).observedAt);
    },
    ...(opts.inProcess ? { inProcess: true, extraEnv: { LOG_LEVEL: 'silent' } } : {}),
    ...(opts.onLog ? { onLog: opts.onLog } : {}),
    ...(opts.install ? { install: opts.install } : {}),
  });
  const started = performance.now();
  const sim = pipeline.sandbox.simulator;
  const startedAt = sim.clock.epochMs;
  let cpuMs: number | undefined = 0;
  try {
    while (!sim.done) {
      await pipeline.step();
      opts.onStep?.(pipeline, events);
    }
  } finally {
    for (const f of pipeline.functions) {
      const used = f.cpuMs?.();
      cpuMs = used === undefined || cpuMs === undefined ? undefined : cpuMs + used;
    }
    await pipeline.close();
  }
  const incidents = incidentBoard(pipeline);
  const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  const deliveries: Record<string, number> = {};
  for (const d of pipeline.broker.history)
    deliveries[`${d.function}:${d.outcome}`] = (deliveries[`${d.function}:${d.outcome}`] ?? 0) + 1;
  const outcome = sim.outcome();
  return {
    summary: {
      scenario: scenario.name,
      mode: opts.mode,
      benign: scenario.benign,
      simulatedMinutes: Math.round(sim.elapsedMs / 60_000),
      wallSeconds,
      events,
      deliveries,
      deadLetters: pipeline.broker.deadLetters.length,
      outcome,
      incidents,
    },
    run: {
      scenario,
      mode: opts.mode,
      startedAt,
      outcome,
      firstAnomalyAt,
      remediations,
      audit: [...pipeline.sandbox.api.apiServer.audit],
      invocations: Object.values(pipeline.broker.delivered).reduce((a, b) => a + b, 0),
      cpuMs,
      incidents: incidents.length,
      wallSeconds,
    },
  };
}
