import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FUNCTIONS, implementedFunctions } from '../../functions/registry.js';
import { EVENT_TYPES } from '../../shared/contracts/index.js';
import { createHttpHandler, serveInProcess, type RunningServer } from '../../shared/runtime/index.js';
import { silentLog, testConfig } from '../support/runtime.js';

/** Dependencies that record any use: a rejected request must not reach them. */
function tripwire(touched: string[]): unknown {
  const handler: ProxyHandler<object> = {
    get: (_t, prop) => {
      if (prop === 'then') return undefined;
      touched.push(String(prop));
      return new Proxy(() => undefined, handler);
    },
    apply: () => {
      touched.push('call');
      return new Proxy(() => undefined, handler);
    },
  };
  return new Proxy({}, handler);
}

// Types the functions accept, minus ping (whose data is free-form, so a random body can be valid).
const TYPES = [
  ...Object.values(EVENT_TYPES).filter((t) => t !== EVENT_TYPES.ping),
  'com.example.unknown',
  '',
];
const header = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('1.0', '0.3', '', 'application/json'));
const request = fc.record({
  contentType: fc.constantFrom(
    'application/json',
    'application/cloudevents+json',
    'text/plain',
    'application/octet-stream',
    'application/cloudevents-batch+json',
  ),
  specversion: fc.option(fc.constantFrom('1.0', '0.3', '2', ''), { nil: undefined }),
  id: fc.option(header, { nil: undefined }),
  source: fc.option(header, { nil: undefined }),
  type: fc.option(fc.constantFrom(...TYPES), { nil: undefined }),
  extra: fc.dictionary(
    fc.constantFrom(
      'ce-time',
      'ce-traceparent',
      'ce-incidentid',
      'ce-subject',
      'ce-datacontenttype',
      'x-connector',
    ),
    header,
    { maxKeys: 3 },
  ),
  body: fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }), fc.constant('')),
});

const touched: string[] = [];
const posted: string[] = [];
const servers: { name: string; server: RunningServer }[] = [];

beforeAll(async () => {
  for (const name of implementedFunctions()) {
    const module = await FUNCTIONS[name]?.();
    if (!module) continue;
    const handler = createHttpHandler(module.definition, {
      config: testConfig({ K_SINK: 'http://127.0.0.1:9/' }),
      deps: tripwire(touched),
      log: silentLog,
      fetch: async (url) => {
        posted.push(url);
        return { status: 202, text: async () => '' };
      },
    });
    servers.push({ name, server: await serveInProcess(`property-${name}`, handler) });
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.server.close()));
});

describe('every function endpoint under arbitrary input', () => {
  it('serves every implemented function', () => {
    expect(servers.map((s) => s.name)).toEqual(implementedFunctions());
    expect(servers.length).toBeGreaterThan(0);
  });

  it('answers 2xx/4xx, never 5xx, never crashes, never acts or emits', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...servers), request, async ({ server }, r) => {
        const headers: Record<string, string> = { 'content-type': r.contentType, ...r.extra };
        if (r.specversion !== undefined) headers['ce-specversion'] = r.specversion;
        if (r.id !== undefined) headers['ce-id'] = r.id;
        if (r.source !== undefined) headers['ce-source'] = r.source;
        if (r.type !== undefined) headers['ce-type'] = r.type;
        for (const [k, v] of Object.entries(headers))
          if (/[^\t\x20-\x7e]/.test(v) || /[\r\n]/.test(v)) delete headers[k];
        const response = await fetch(server.url, { method: 'POST', headers, body: r.body });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(500);
        expect(response.headers.get('ce-type')).toBeNull();
        expect(touched).toEqual([]);
        expect(posted).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // And the servers are still up.
    for (const { server } of servers)
      expect((await fetch(new URL('/_/health', server.url))).status).toBe(200);
  });
});
