import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CloudEventV1 } from 'cloudevents';
import { Pipeline, examplePolicy } from '../../cli/pipeline.js';
import type { AnomalyData, Mode } from '../../shared/contracts/index.js';
import { EVENT_TYPES } from '../../shared/contracts/index.js';
import { repoRoot } from '../../shared/tools/index.js';
import { loadScenarios, type Scenario } from '../../sandbox/simulator/scenario.js';

export const SCENARIOS = loadScenarios(resolve(repoRoot, 'sandbox/scenarios'));

export function scenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario ${name}`);
  return s;
}

export interface ScenarioRun {
  readonly pipeline: Pipeline;
  /** Anomalies with the simulated minute they were emitted at. */
  readonly anomalies: { minute: number; data: AnomalyData }[];
  readonly events: CloudEventV1<unknown>[];
}

/** Run a scenario through every implemented function (in-process functions-framework servers). */
export async function runScenario(
  s: Scenario,
  options: {
    mode?: Mode;
    untilMs?: number;
    onStep?: (p: Pipeline) => Promise<void>;
    /** Extra environment of every function (configuration under test). */
    env?: Record<string, string>;
  } = {},
): Promise<ScenarioRun> {
  const anomalies: { minute: number; data: AnomalyData }[] = [];
  const events: CloudEventV1<unknown>[] = [];
  const holder: { pipeline?: Pipeline } = {};
  const pipeline = await Pipeline.start({
    scenario: s,
    dir: mkdtempSync(join(tmpdir(), `kurative-e2e-${s.name}-`)),
    mode: options.mode ?? 'observe',
    // What an SRE starting out applies: the example RemediationPolicy, in the mode under test.
    policies: [examplePolicy(options.mode ?? 'observe')],
    inProcess: true,
    ...(options.env ? { extraEnv: options.env } : {}),
    onEvent: (e) => {
      events.push(e);
      if (e.type === EVENT_TYPES.anomaly)
        anomalies.push({
          minute: (pipeline?.sandbox.simulator.elapsedMs ?? 0) / 60_000,
          data: e.data as AnomalyData,
        });
    },
  });
  holder.pipeline = pipeline;
  const until = options.untilMs ?? s.duration;
  try {
    while (pipeline.sandbox.simulator.elapsedMs < until) {
      await pipeline.step();
      await options.onStep?.(pipeline);
    }
  } finally {
    await pipeline.close();
  }
  return { pipeline, anomalies, events };
}
