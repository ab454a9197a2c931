import { describe, expect, it } from 'vitest';
import { FLAP_MS, OutcomeTracker } from '../../../sandbox/simulator/outcomes.js';
import type { SimContext } from '../../../sandbox/simulator/state.js';

/** A context with one workload whose error ratio the test sets tick by tick. */
function fakeContext(): { ctx: SimContext; tick: (errorRatio: number) => void; tracker: OutcomeTracker } {
  const clock = { epochMs: 0 };
  const signals = { rps: 10, errorRatio: 0, latencyMs: 10, readyReplicas: 2, desiredReplicas: 2 };
  const ctx = {
    clock,
    counters: { oomKills: 0, crashes: 0, evictions: 0, restarts: 0 },
    workloads: new Map([['shop/cart', { signals }]]),
  } as unknown as SimContext;
  const tracker = new OutcomeTracker();
  const usage = { cpuUsed: 1, cpuRequested: 2, memUsed: 1, memRequested: 2 };
  return {
    ctx,
    tracker,
    tick: (errorRatio) => {
      clock.epochMs += 10_000;
      signals.errorRatio = errorRatio;
      tracker.observe(ctx, 10_000, usage);
    },
  };
}

describe('outcome: critical incidents', () => {
  it('counts an error ratio hovering at the critical threshold as one incident', () => {
    const { ctx, tick, tracker } = fakeContext();
    tick(0);
    // Above 25 %, below, above… every other tick for ten minutes.
    for (let i = 0; i < 60; i++) tick(i % 2 === 0 ? 0.3 : 0.2);
    const o = tracker.result(ctx).workloads['shop/cart'];
    expect(o?.criticalIncidents).toBe(1);
    expect(o?.criticalSeconds).toBe(300);
  });

  it('counts a workload critical again after a quiet spell longer than the flap window as a new incident', () => {
    const { ctx, tick, tracker } = fakeContext();
    tick(0.5);
    for (let t = 0; t < FLAP_MS / 10_000 + 1; t++) tick(0);
    tick(0.5);
    expect(tracker.result(ctx).criticalIncidents).toBe(2);
    // Within the window: still the second one.
    tick(0);
    tick(0.5);
    expect(tracker.result(ctx).criticalIncidents).toBe(2);
  });
});
