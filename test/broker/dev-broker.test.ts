import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent, HTTP } from 'cloudevents';
import { DevBroker } from '../../broker/index.js';
import { EVENT_TYPES } from '../../shared/contracts/index.js';
import { unavailable, type RunningServer } from '../../shared/runtime/index.js';
import type { Route } from '../../triggers/index.js';
import { VALID_DATA } from '../support/fixtures.js';
import { recordingFunction, serveDefinition } from '../support/runtime.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});
function keep(server: RunningServer): RunningServer {
  closers.push(() => server.close());
  return server;
}

const anomaly = () =>
  new CloudEvent<unknown>({
    type: EVENT_TYPES.anomaly,
    source: '/t',
    id: 'a1',
    data: VALID_DATA[EVENT_TYPES.anomaly],
  });

describe('DevBroker', () => {
  it('delivers through two functions and re-ingests each reply, applying attribute filters', async () => {
    const rca = recordingFunction([EVENT_TYPES.anomaly], () => ({
      type: EVENT_TYPES.diagnosis,
      data: VALID_DATA[EVENT_TYPES.diagnosis],
      incidentId: 'inc-1',
    }));
    const policy = recordingFunction([EVENT_TYPES.diagnosis], () => ({
      type: EVENT_TYPES.decision,
      data: { ...VALID_DATA[EVENT_TYPES.decision], verdict: 'denied' },
      extensions: { verdict: 'denied' },
    }));
    const act = recordingFunction([EVENT_TYPES.decision]);
    const routes: Route[] = [
      { name: 'rca', function: 'rca', filter: { type: EVENT_TYPES.anomaly } },
      { name: 'policy', function: 'policy', filter: { type: EVENT_TYPES.diagnosis } },
      { name: 'act', function: 'act', filter: { type: EVENT_TYPES.decision, verdict: 'approved' } },
    ];
    const broker = new DevBroker({
      routes,
      endpoints: {
        rca: keep(await serveDefinition(rca.definition)).url,
        policy: keep(await serveDefinition(policy.definition)).url,
        act: keep(await serveDefinition(act.definition)).url,
      },
      sleep: async () => {},
    });
    const seen: string[] = [];
    broker.publish(anomaly());
    await broker.idle();
    expect(rca.received).toHaveLength(1);
    expect(policy.received).toHaveLength(1);
    expect(policy.received[0]?.incidentId).toBe('inc-1');
    // The denied decision came back to the broker but matched no route: act never saw it.
    expect(act.received).toHaveLength(0);
    for (const h of broker.history) seen.push(`${h.route}:${h.outcome}:${h.replyType ?? ''}`);
    expect(seen).toEqual([`rca:reply:${EVENT_TYPES.diagnosis}`, `policy:reply:${EVENT_TYPES.decision}`]);
    expect(broker.deadLetters).toHaveLength(0);
  });

  it('retries a 5xx with exponential backoff, then dead-letters the event', async () => {
    const failing = recordingFunction([EVENT_TYPES.anomaly], () => {
      throw unavailable('store down');
    });
    const delays: number[] = [];
    const broker = new DevBroker({
      routes: [{ name: 'rca', function: 'rca', filter: { type: EVENT_TYPES.anomaly } }],
      endpoints: { rca: keep(await serveDefinition(failing.definition)).url },
      retry: 3,
      backoffMs: 10,
      sleep: async (ms) => void delays.push(ms),
    });
    broker.publish(anomaly());
    await broker.idle();
    expect(failing.received).toHaveLength(4);
    expect(delays).toEqual([10, 20, 40]);
    expect(broker.deadLetters).toHaveLength(1);
    expect(broker.deadLetters[0]).toMatchObject({ route: 'rca', status: 503, attempts: 4 });
    expect(broker.deadLetters[0]?.reason).toMatch(/store down/);
  });

  it('does not retry a 4xx: the event goes straight to dead letters', async () => {
    const fn = recordingFunction([EVENT_TYPES.diagnosis]);
    const broker = new DevBroker({
      routes: [{ name: 'rca', function: 'rca', filter: { type: EVENT_TYPES.anomaly } }],
      endpoints: { rca: keep(await serveDefinition(fn.definition)).url },
      sleep: async () => {},
    });
    broker.publish(anomaly());
    await broker.idle();
    expect(broker.deadLetters[0]).toMatchObject({ status: 400, attempts: 1 });
  });

  it('accepts events on its HTTP ingress (K_SINK) and rejects non-events with 400', async () => {
    const fn = recordingFunction([EVENT_TYPES.anomaly]);
    const broker = new DevBroker({
      routes: [{ name: 'rca', function: 'rca', filter: { type: EVENT_TYPES.anomaly } }],
      endpoints: { rca: keep(await serveDefinition(fn.definition)).url },
    });
    const url = await broker.listen();
    closers.push(() => broker.close());
    const message = HTTP.binary(anomaly());
    const ok = await fetch(url, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    expect(ok.status).toBe(202);
    const bad = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(bad.status).toBe(400);
    await broker.idle();
    expect(fn.received).toHaveLength(1);
  });
});
