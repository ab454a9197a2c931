import { afterEach, describe, expect, it } from 'vitest';
import { CloudEvent, HTTP } from 'cloudevents';
import { DATA_SCHEMAS, EVENT_TYPES, type EventType, type Sample } from '../../../shared/contracts/index.js';
import type { RunningServer } from '../../../shared/runtime/index.js';
import { VALID_DATA } from '../../support/fixtures.js';
import { recordingFunction, serveDefinition } from '../../support/runtime.js';

const ALL_TYPES = Object.keys(DATA_SCHEMAS) as EventType[];
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function post(url: string, event: CloudEvent<unknown>, mode: 'binary' | 'structured' = 'binary') {
  const message = mode === 'binary' ? HTTP.binary(event) : HTTP.structured(event);
  const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
  const response = await fetch(url, { method: 'POST', headers, body: message.body as string });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers.entries()),
    text: await response.text(),
  };
}

function makeEvent(type: EventType, extra: Record<string, string> = {}) {
  return new CloudEvent<unknown>({
    type,
    source: '/test',
    id: `id-${type}`,
    datacontenttype: 'application/json',
    data: VALID_DATA[type],
    ...extra,
  });
}

describe('function runtime over real HTTP (functions-framework)', () => {
  for (const type of ALL_TYPES) {
    for (const mode of ['binary', 'structured'] as const) {
      it(`round-trips a valid ${type} (${mode} mode) into a binary-mode reply`, async () => {
        const kurativeReplyType = type.startsWith('dev.kurative.') ? type : EVENT_TYPES.anomaly;
        const { definition, received } = recordingFunction([type], (event) => ({
          type: kurativeReplyType as typeof EVENT_TYPES.anomaly,
          data: (kurativeReplyType === type ? event.data : VALID_DATA[EVENT_TYPES.anomaly]) as never,
        }));
        const server = await serveDefinition(definition);
        servers.push(server);
        const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
        const response = await post(server.url, makeEvent(type, { incidentid: 'inc-42', traceparent }), mode);
        expect(response.status).toBe(200);
        expect(received).toHaveLength(1);
        expect(received[0]?.data).toEqual(DATA_SCHEMAS[type].parse(VALID_DATA[type]));
        expect(received[0]?.incidentId).toBe('inc-42');
        const reply = HTTP.toEvent({ headers: response.headers, body: response.text }) as CloudEvent<unknown>;
        expect(response.headers['ce-type']).toBe(kurativeReplyType);
        expect(reply.data).toEqual(
          DATA_SCHEMAS[kurativeReplyType].parse(
            kurativeReplyType === type ? VALID_DATA[type] : VALID_DATA[EVENT_TYPES.anomaly],
          ),
        );
        expect(reply['incidentid']).toBe('inc-42');
        // Same trace, new span.
        expect(String(reply['traceparent'])).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
        expect(String(reply['traceparent'])).not.toBe(traceparent);
      });
    }
  }

  it('answers 202 with an empty body when the handler has nothing to say', async () => {
    const { definition } = recordingFunction([EVENT_TYPES.anomaly]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const response = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    expect(response.status).toBe(202);
    expect(response.text).toBe('');
  });

  it('tolerates unknown extensions such as knativearrivaltime and exposes them', async () => {
    const { definition, received } = recordingFunction([EVENT_TYPES.apiServerUpdate]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const event = makeEvent(EVENT_TYPES.apiServerUpdate, {
      knativearrivaltime: '2026-01-01T00:00:00Z',
      kind: 'Pod',
      name: 'p',
      namespace: 'shop',
    });
    expect((await post(server.url, event)).status).toBe(202);
    expect(received[0]?.extensions).toMatchObject({
      knativearrivaltime: '2026-01-01T00:00:00Z',
      kind: 'Pod',
      name: 'p',
    });
  });

  it('tolerates a ping with no data', async () => {
    const { definition, received } = recordingFunction([EVENT_TYPES.ping]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const event = new CloudEvent({ type: EVENT_TYPES.ping, source: '/ping', id: 'p1' });
    expect((await post(server.url, event)).status).toBe(202);
    expect(received[0]?.data).toBeUndefined();
  });

  it('treats an OpenFaaS cron-connector empty POST as a ping', async () => {
    const { definition, received } = recordingFunction([EVENT_TYPES.ping]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'X-Connector': 'cron-connector' },
    });
    expect(response.status).toBe(202);
    expect(received[0]?.type).toBe(EVENT_TYPES.ping);
  });

  it.each([
    ['an unknown type', { type: 'com.example.other' }, /does not accept/],
    ['a type the function does not take', { type: EVENT_TYPES.metrics }, /does not accept/],
    ['a bad traceparent', { traceparent: 'nope' }, /traceparent/],
  ])('rejects %s with 400 and a JSON reason, never calling the handler', async (_name, attrs, reason) => {
    const { definition, received } = recordingFunction([EVENT_TYPES.anomaly], () => ({
      type: EVENT_TYPES.anomaly,
      data: VALID_DATA[EVENT_TYPES.anomaly],
    }));
    const server = await serveDefinition(definition);
    servers.push(server);
    const event = new CloudEvent<unknown>(
      { type: EVENT_TYPES.anomaly, source: '/t', id: 'x', data: VALID_DATA[EVENT_TYPES.anomaly], ...attrs },
      false,
    );
    const response = await post(server.url, event);
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({
      error: 'BadEvent',
      message: expect.stringMatching(reason),
    });
    expect(received).toHaveLength(0);
  });

  it('rejects data that breaks the contract with 400 naming the field', async () => {
    const { definition, received } = recordingFunction([EVENT_TYPES.anomaly]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const bad = { ...VALID_DATA[EVENT_TYPES.anomaly], score: -1 };
    const response = await post(
      server.url,
      new CloudEvent({ type: EVENT_TYPES.anomaly, source: '/t', id: 'x', data: bad }),
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).message).toMatch(/score/);
    expect(received).toHaveLength(0);
  });

  it('rejects metrics data with one bad sample among good ones with 400 naming it (past the fast check)', async () => {
    const { definition, received } = recordingFunction([EVENT_TYPES.metrics]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const good = VALID_DATA[EVENT_TYPES.metrics];
    const sample = good.samples[0] as Sample;
    const bad = { ...good, samples: [sample, sample, { ...sample, limit: -1 }, sample] };
    const response = await post(
      server.url,
      new CloudEvent({ type: EVENT_TYPES.metrics, source: '/t', id: 'x', data: bad }),
    );
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text).message).toMatch(/samples\.2\.limit/);
    expect(received).toHaveLength(0);
  });

  it('rejects a request that is not a CloudEvent, and GET, with 4xx', async () => {
    const { definition, received } = recordingFunction([EVENT_TYPES.anomaly]);
    const server = await serveDefinition(definition);
    servers.push(server);
    const plain = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(plain.status).toBe(400);
    expect((await fetch(server.url)).status).toBe(405);
    expect(received).toHaveLength(0);
  });

  it('serves health and readiness endpoints', async () => {
    const { definition } = recordingFunction([EVENT_TYPES.anomaly]);
    const server = await serveDefinition(definition);
    servers.push(server);
    expect((await fetch(new URL('/_/health', server.url))).status).toBe(200);
    expect((await fetch(new URL('/_/ready', server.url))).status).toBe(200);
  });

  it('maps a transient failure in the handler to 503 so the broker retries', async () => {
    const { unavailable } = await import('../../../shared/runtime/index.js');
    const { definition } = recordingFunction([EVENT_TYPES.anomaly], () => {
      throw unavailable('store down');
    });
    const server = await serveDefinition(definition);
    servers.push(server);
    const response = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text)).toEqual({ error: 'Unavailable', message: 'store down' });
  });

  it('posts every event after the first to K_SINK with K_CE_OVERRIDES applied', async () => {
    const posted: { headers: Record<string, string>; body: string }[] = [];
    const fakeFetch = async (_url: string, init: { headers: Record<string, string>; body: string }) => {
      posted.push({ headers: init.headers, body: init.body });
      return { status: posted.length === 1 ? 503 : 202, text: async () => '' };
    };
    const { definition } = recordingFunction([EVENT_TYPES.anomaly], () => [
      { type: EVENT_TYPES.anomaly, data: VALID_DATA[EVENT_TYPES.anomaly] },
      { type: EVENT_TYPES.diagnosis, data: VALID_DATA[EVENT_TYPES.diagnosis], incidentId: 'inc-9' },
    ]);
    const server = await serveDefinition(definition, {
      env: { K_SINK: 'http://sink.example/', K_CE_OVERRIDES: '{"extensions":{"cluster":"east"}}' },
      fetch: fakeFetch,
    });
    servers.push(server);
    const response = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    expect(response.status).toBe(200);
    expect(response.headers['ce-type']).toBe(EVENT_TYPES.anomaly);
    // First post got 503 and was retried.
    expect(posted).toHaveLength(2);
    expect(posted[1]?.headers['ce-type']).toBe(EVENT_TYPES.diagnosis);
    expect(posted[1]?.headers['ce-cluster']).toBe('east');
    expect(posted[1]?.headers['ce-incidentid']).toBe('inc-9');
  });

  it('answers 503 when K_SINK keeps failing, so nothing is lost', async () => {
    const fakeFetch = async () => ({ status: 500, text: async () => 'boom' });
    const { definition } = recordingFunction([EVENT_TYPES.anomaly], () => [
      { type: EVENT_TYPES.anomaly, data: VALID_DATA[EVENT_TYPES.anomaly] },
      { type: EVENT_TYPES.anomaly, data: VALID_DATA[EVENT_TYPES.anomaly] },
    ]);
    const server = await serveDefinition(definition, {
      env: { K_SINK: 'http://sink.example/' },
      fetch: fakeFetch,
    });
    servers.push(server);
    const response = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    expect(response.status).toBe(503);
    expect(JSON.parse(response.text).message).toMatch(/K_SINK/);
  });

  it('gives the same output ids for a redelivered input', async () => {
    const { definition } = recordingFunction([EVENT_TYPES.anomaly], () => ({
      type: EVENT_TYPES.anomaly,
      data: VALID_DATA[EVENT_TYPES.anomaly],
    }));
    const server = await serveDefinition(definition);
    servers.push(server);
    const a = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    const b = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    expect(a.headers['ce-id']).toBe(b.headers['ce-id']);
  });

  it('refuses to emit an event that breaks its own contract (500, a bug, not a bad input)', async () => {
    const { definition } = recordingFunction([EVENT_TYPES.anomaly], () => ({
      type: EVENT_TYPES.anomaly,
      data: { nope: true } as never,
    }));
    const server = await serveDefinition(definition);
    servers.push(server);
    const response = await post(server.url, makeEvent(EVENT_TYPES.anomaly));
    expect(response.status).toBe(500);
    expect(JSON.parse(response.text).error).toBe('ContractViolation');
  });
});
