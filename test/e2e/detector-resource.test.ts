import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../shared/tools/index.js';
import { kubectl, kubectlAvailable } from '../support/kubectl.js';
import { runScenario, scenario } from '../support/pipeline.js';
import { createObject } from '../../cli/pipeline.js';
import type { KubeObject } from '../../sandbox/apiserver/types.js';

const CRD = resolve(repoRoot, 'deploy/crds/detectors.kurative.dev.yaml');
const EXAMPLE = resolve(repoRoot, 'examples/memory-leak-detector.yaml');

describe.runIf(kubectlAvailable)('Detector resources applied with the real kubectl', () => {
  it('the example memory-leak detector predicts the OOM earlier than the built-in rule', async () => {
    const builtin = await runScenario(scenario('memory-leak'));
    const firstBuiltin = builtin.anomalies.find((a) => a.data.kind === 'forecast')?.minute ?? Infinity;

    let applied = false;
    const custom = await runScenario(scenario('memory-leak'), {
      onStep: async (p) => {
        if (applied) return;
        applied = true;
        const kc = p.sandbox.kubeconfigPath;
        expect((await kubectl(kc, ['apply', '-f', CRD])).code).toBe(0);
        const r = await kubectl(kc, ['apply', '-f', EXAMPLE]);
        expect(r).toMatchObject({ code: 0, stdout: 'detector.kurative.dev/memory-leak created\n' });
        const bad = await kubectl(
          kc,
          ['apply', '-f', '-'],
          'apiVersion: kurative.dev/v1alpha1\nkind: Detector\nmetadata: { name: broken }\nspec: { signal: { metric: not-a-metric } }\n',
        );
        expect(bad.code).not.toBe(0);
        expect(bad.stderr).toMatch(/spec.signal.metric/);
        // Valid for the schema, invalid for the contract (exactly one of metric/promql): reported on status.
        const half = await kubectl(
          kc,
          ['apply', '-f', '-'],
          'apiVersion: kurative.dev/v1alpha1\nkind: Detector\nmetadata: { name: half }\nspec: { signal: { direction: up } }\n',
        );
        expect(half.code).toBe(0);
      },
    });
    const firstCustom =
      custom.anomalies.find((a) => a.data.kind === 'forecast' && a.data.detector === 'memory-leak')?.minute ??
      Infinity;
    expect(firstCustom).toBeLessThan(firstBuiltin - 5);
    // The invalid one was reported, not fatal: scoring went on (anomalies above) and its status says why.
    const detectors = custom.pipeline.sandbox.simulator.cluster.store.list('kurative.dev/detectors');
    const half = detectors.find((d) => d.metadata.name === 'half') as
      { status?: { conditions?: { type: string; status: string; reason: string }[] } } | undefined;
    expect(half?.status?.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
    });
    const good = detectors.find((d) => d.metadata.name === 'memory-leak') as typeof half;
    expect(good?.status?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True' });
  }, 180_000);
});

describe('a PromQL Detector applied shortly before a fault', () => {
  // The payment service's latency under a name of its own, so its series start when it is applied.
  const LATE: KubeObject = {
    apiVersion: 'kurative.dev/v1alpha1',
    kind: 'Detector',
    metadata: { name: 'late-latency' },
    spec: {
      target: { kinds: ['Service'] },
      signal: { promql: 'http_latency_ms{service="payment"}', name: 'payment_latency_ms', direction: 'up' },
      minChange: 50,
      minDuration: '2m',
    },
  };
  const run = (env: Record<string, string>) => {
    let applied = false;
    return runScenario(scenario('network-latency'), {
      env,
      onStep: async (p) => {
        // Applied at minute 19; the fault comes at minute 20.
        if (applied || p.sandbox.simulator.elapsedMs < 19 * 60_000) return;
        applied = true;
        createObject(p.sandbox, LATE);
        await Promise.resolve();
      },
    });
  };
  const firstLate = (r: Awaited<ReturnType<typeof run>>) =>
    r.anomalies.find((a) => a.data.detector === 'late-latency')?.minute ?? Infinity;

  it('detects it at once when warmed with its history, and not at all without', async () => {
    const warm = await run({});
    const cold = await run({ KURATIVE_BACKFILL: '0s' });
    expect(firstLate(warm)).toBeGreaterThanOrEqual(20);
    expect(firstLate(warm)).toBeLessThan(25);
    // Cold, it saw one sample before the fault: the latency is learnt as normal before even a
    // Service's young series may alert (after 5 samples).
    expect(firstLate(cold)).toBe(Infinity);
  }, 240_000);
});
