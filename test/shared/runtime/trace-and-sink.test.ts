import { describe, expect, it } from 'vitest';
import { CloudEvent } from 'cloudevents';
import fc from 'fast-check';
import {
  childTraceparent,
  createSinkPoster,
  KurativeError,
  parseTraceparent,
} from '../../../shared/runtime/index.js';

describe('traceparent', () => {
  it('keeps the trace id and makes a new span id', () => {
    const parent = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(parent?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const child = childTraceparent(parent);
    expect(child).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(child).not.toContain('00f067aa0ba902b7');
  });

  it.each([
    '',
    'garbage',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  ])('starts a new trace for invalid %j', (value) => {
    expect(parseTraceparent(value)).toBeUndefined();
    expect(childTraceparent(parseTraceparent(value))).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseTraceparent(s)));
  });
});

describe('createSinkPoster', () => {
  const event = new CloudEvent({ type: 'dev.kurative.anomaly.v1', source: '/t', id: 'e1', data: { a: 1 } });

  it('retries transient statuses with backoff until a 2xx', async () => {
    const statuses = [503, 429, 202];
    const delays: number[] = [];
    const post = createSinkPoster({
      url: 'http://sink/',
      overrides: {},
      retries: 4,
      timeoutMs: 1000,
      fetch: async () => ({ status: statuses.shift() ?? 500, text: async () => '' }),
      sleep: async (ms) => void delays.push(ms),
    });
    await post(event);
    expect(statuses).toHaveLength(0);
    expect(delays).toEqual([50, 100]);
  });

  it('gives up after the retry budget with a 503 KurativeError', async () => {
    let calls = 0;
    const post = createSinkPoster({
      url: 'http://sink/',
      overrides: {},
      retries: 2,
      timeoutMs: 1000,
      fetch: async () => {
        calls++;
        throw new Error('ECONNREFUSED');
      },
      sleep: async () => {},
    });
    const error = await post(event).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KurativeError);
    expect((error as KurativeError).status).toBe(503);
    expect(calls).toBe(3);
  });

  it('does not retry a permanent 400 from the sink', async () => {
    let calls = 0;
    const post = createSinkPoster({
      url: 'http://sink/',
      overrides: {},
      retries: 5,
      timeoutMs: 1000,
      fetch: async () => {
        calls++;
        return { status: 400, text: async () => 'bad' };
      },
      sleep: async () => {},
    });
    await expect(post(event)).rejects.toThrow(/status 400/);
    expect(calls).toBe(1);
  });

  it('sends binary mode with overrides as ce- headers', async () => {
    let headers: Record<string, string> = {};
    const post = createSinkPoster({
      url: 'http://sink/',
      overrides: { cluster: 'east' },
      retries: 0,
      timeoutMs: 1000,
      fetch: async (_u, init) => {
        headers = init.headers;
        return { status: 200, text: async () => '' };
      },
    });
    await post(event);
    expect(headers['ce-cluster']).toBe('east');
    expect(headers['ce-id']).toBe('e1');
    expect(headers['content-type']).toMatch(/application\/json/);
  });
});
