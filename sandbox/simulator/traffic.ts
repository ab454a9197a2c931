import { podIsReady } from '../apiserver/eviction.js';
import type { KubeObject } from '../apiserver/types.js';
import { gaussian } from './random.js';
import { type SimContext, type WorkloadRuntime } from './state.js';

const DAY_MS = 86_400_000;
/** Calls to an upstream time out after this long; beyond it they count as errors. */
const CALL_TIMEOUT_MS = 1000;

/** Requests per second a workload receives now: mean × daily cycle (peak 14:00) × traffic fault × noise. */
export function demandOf(ctx: SimContext, w: WorkloadRuntime): number {
  const b = w.behaviour;
  const t = ctx.clock.epochMs;
  const phase = (((t % DAY_MS) / DAY_MS) * 24 - 14) / 24;
  const daily = 1 + b.dailyAmplitude * Math.cos(2 * Math.PI * phase);
  const multiplier = t < ctx.trafficUntil ? ctx.trafficMultiplier : 1;
  return Math.max(0, b.rps * daily * multiplier * (1 + b.noise * 0.5 * gaussian(ctx.random)));
}

/**
 * App-level signals per workload, computed dependencies first: a workload's latency and errors
 * include those of the services it calls, so a fault upstream shows up downstream.
 */
export function computeSignals(ctx: SimContext, podsByWorkload: Map<string, KubeObject[]>): void {
  const done = new Set<string>();
  const visit = (key: string, stack: Set<string>) => {
    const w = ctx.workloads.get(key);
    if (!w || done.has(key) || stack.has(key)) return;
    stack.add(key);
    for (const dep of w.behaviour.dependsOn) visit(`${w.namespace}/${dep}`, stack);
    stack.delete(key);
    const pods = podsByWorkload.get(key) ?? [];
    const ready = pods.filter(podIsReady);
    const runtimes = ready.map((p) => ctx.pods.get(p.metadata.uid ?? '')).filter((r) => r !== undefined);
    const rps = demandOf(ctx, w);
    const saturation = runtimes.length ? runtimes.reduce((s, r) => s + r.saturation, 0) / runtimes.length : 0;
    let latency = w.behaviour.latencyMs * (1 + Math.max(0, saturation - 0.8) * 6) + w.extraLatencyMs;
    // A worker that serves no requests (a batch job, a queue consumer) has no error ratio to show
    // when it is starved of CPU: it only runs slower.
    let errors = saturation > 1.3 && w.behaviour.rps > 0 ? Math.min(0.5, (saturation - 1.3) * 0.8) : 0;
    for (const r of runtimes) {
      // Requests are spread over the ready pods: those served on an overcommitted node wait for a
      // CPU (six times slower) or time out.
      latency += (w.behaviour.latencyMs * 6 * r.queueing) / runtimes.length;
      if (w.behaviour.rps > 0) errors += r.queueing / 2 / runtimes.length;
      const image = r.containers[0]?.image;
      const extra = image ? (ctx.scenario.images[image]?.errorRate ?? 0) : 0;
      errors += extra / runtimes.length;
      latency +=
        ((image ? (ctx.scenario.images[image]?.latencyMs ?? 0) : 0) + r.injected.latencyMs) / runtimes.length;
    }
    for (const dep of w.behaviour.dependsOn) {
      const d = ctx.workloads.get(`${w.namespace}/${dep}`);
      if (!d) continue;
      latency += Math.min(d.signals.latencyMs, CALL_TIMEOUT_MS);
      const timedOut =
        d.signals.latencyMs > CALL_TIMEOUT_MS ? 0.9 : d.signals.latencyMs > CALL_TIMEOUT_MS * 0.5 ? 0.2 : 0;
      errors += (1 - errors) * Math.max(d.signals.errorRatio, timedOut);
    }
    if (ready.length === 0 && w.behaviour.rps > 0) {
      errors = 1;
      latency = CALL_TIMEOUT_MS * 2;
    }
    const noise = 1 + w.behaviour.noise * 0.3 * gaussian(ctx.random);
    w.signals = {
      rps,
      errorRatio: Math.min(1, Math.max(0, errors)),
      latencyMs: Math.max(1, latency * noise),
      readyReplicas: ready.length,
      desiredReplicas: pods.length,
    };
    done.add(key);
  };
  for (const key of ctx.workloads.keys()) visit(key, new Set());
}
