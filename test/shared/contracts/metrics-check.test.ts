import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EVENT_TYPES, KNOWN_VALID, MetricsData, type Sample } from '../../../shared/contracts/index.js';
import { isKnownValidMetricsData } from '../../../shared/contracts/metrics-check.js';
import { chunkSamples } from '../../../functions/scrape/chunk.js';
import { VALID_DATA } from '../../support/fixtures.js';

// The fast check may only ever say "valid" where zod says valid and returns the data unchanged: it
// replaces zod's verdict on that path. Where it says false, zod decides (and gives its reasons).

const at = '2026-01-01T00:00:00.000Z';

/** A sample as scrape makes it: the optional fields present or absent, never undefined. */
const validSample = fc
  .record(
    {
      entity: fc.record(
        {
          apiVersion: fc.constantFrom('v1', 'apps/v1'),
          kind: fc.constantFrom('Pod', 'Node', 'Deployment', 'Service'),
          namespace: fc.constantFrom('shop', 'kube-system', 'a'),
          name: fc.string({ minLength: 1, maxLength: 20 }),
          uid: fc.uuid(),
          container: fc.constantFrom('app', 'server'),
        },
        { requiredKeys: ['kind', 'name'] },
      ),
      signal: fc.constantFrom('cpu_usage_cores', 'memory_working_set_bytes', 'x'.repeat(200)),
      value: fc.double({ noNaN: true, noDefaultInfinity: true }),
      unit: fc.constantFrom('cores', 'bytes', '', 'u'.repeat(32)),
      at: fc.constantFrom(at, '2026-03-01T12:30:00Z', '2026-03-01T12:30:00.5+02:00'),
      limit: fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }),
      request: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
      labels: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
    },
    { requiredKeys: ['entity', 'signal', 'value', 'at'] },
  )
  .map((s) => JSON.parse(JSON.stringify(s)) as Sample);

/** Values at the edges of what the fields allow, and of other types. */
const EDGE_VALUES: readonly unknown[] = [
  undefined,
  null,
  '',
  'x',
  'u'.repeat(32),
  'u'.repeat(33),
  'y'.repeat(200),
  'y'.repeat(201),
  0,
  -0,
  -1,
  Number.MIN_VALUE,
  1.5,
  2 ** 60,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '2026-13-01T00:00:00Z',
  '2026-01-01 00:00:00',
  at,
  'prometheus',
  [],
  {},
  { kind: 'Pod', name: 'p' },
  { a: 1 },
];

/** Where each key may be changed, for the exhaustive case (and its own unknown keys). */
const KEYS_AT: readonly [readonly (string | number)[], readonly string[]][] = [
  [[], ['scrapeId', 'scrapedAt', 'source', 'batch', 'samples', 'extra']],
  [['batch'], ['index', 'count', 'extra']],
  [
    ['samples', 0],
    ['entity', 'signal', 'value', 'unit', 'at', 'limit', 'request', 'labels', 'extra', '__proto__'],
  ],
  [
    ['samples', 0, 'entity'],
    ['apiVersion', 'kind', 'namespace', 'name', 'uid', 'container', 'extra'],
  ],
  [
    ['samples', 0, 'labels'],
    ['app', '__proto__'],
  ],
];

/** One change that may or may not break a value (a path into it and what to put there). */
const damage = fc.record({
  where: fc.constantFrom([], ['samples', 0], ['samples', 0, 'entity'], ['samples', 0, 'labels'], ['batch']),
  key: fc.constantFrom(
    'entity',
    'signal',
    'value',
    'unit',
    'at',
    'limit',
    'request',
    'labels',
    'kind',
    'name',
    'namespace',
    'container',
    'scrapeId',
    'scrapedAt',
    'source',
    'batch',
    'samples',
    'index',
    'count',
    'extra',
    '__proto__',
  ),
  value: fc.oneof(fc.constantFrom(...EDGE_VALUES), fc.string({ maxLength: 4 }), fc.double()),
  remove: fc.boolean(),
});

type Damage = { where: readonly (string | number)[]; key: string; value: unknown; remove: boolean };

/** The data with one key removed or set (on a copy). */
function applyDamage(data: unknown, d: Damage): unknown {
  const copy = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  let target: unknown = copy;
  for (const step of d.where) target = (target as Record<string | number, unknown> | undefined)?.[step];
  if (typeof target !== 'object' || target === null) return copy;
  const object = target as Record<string, unknown>;
  if (d.remove) delete object[d.key];
  // As JSON.parse would make it: an own property even for `__proto__`.
  else
    Object.defineProperty(object, d.key, {
      value: d.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

const metrics = fc.record({
  samples: fc.array(validSample, { minLength: 1, maxLength: 4 }),
  count: fc.integer({ min: 1, max: 5 }),
  source: fc.constantFrom('metrics.k8s.io', 'prometheus', 'api', 'mixed'),
});

describe('isKnownValidMetricsData', () => {
  it('says valid only where MetricsData accepts the data and returns it unchanged', () => {
    let known = 0;
    let rejected = 0;
    fc.assert(
      fc.property(metrics, fc.array(damage, { maxLength: 2 }), ({ samples, count, source }, damages) => {
        let data: unknown = {
          scrapeId: 's-1',
          scrapedAt: at,
          source,
          batch: { index: count - 1, count },
          samples,
        };
        for (const d of damages) data = applyDamage(data, d);
        const zod = MetricsData.safeParse(data);
        if (isKnownValidMetricsData(data)) {
          known++;
          expect(zod.success).toBe(true);
          expect(zod.data).toEqual(data);
        } else if (!zod.success) rejected++;
      }),
      { numRuns: 3000 },
    );
    // Both sides were exercised: data it vouched for, and broken data left to zod.
    expect(known).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(300);
  });

  it('says valid only where MetricsData does, for every edge value in every field (exhaustive)', () => {
    const sample = {
      entity: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'p', uid: 'u', container: 'app' },
      signal: 'cpu_usage_cores',
      value: 1,
      unit: 'cores',
      at,
      limit: 2,
      request: 1,
      labels: { app: 'a' },
    };
    const base = {
      scrapeId: 's',
      scrapedAt: at,
      source: 'api',
      batch: { index: 0, count: 1 },
      samples: [sample],
    };
    let cases = 0;
    let known = 0;
    for (const [where, keys] of KEYS_AT)
      for (const key of keys)
        for (const d of [
          { where, key, value: undefined, remove: true },
          ...EDGE_VALUES.map((value) => ({ where, key, value, remove: false })),
        ]) {
          const data = applyDamage(base, d);
          const zod = MetricsData.safeParse(data);
          if (isKnownValidMetricsData(data)) {
            known++;
            expect(zod.success, JSON.stringify(d)).toBe(true);
            expect(zod.data).toEqual(data);
          }
          cases++;
        }
    expect(cases).toBeGreaterThanOrEqual(700);
    expect(known).toBeGreaterThan(20);
  });

  it('vouches for the data scrape sends, so that the fast path is taken', () => {
    const samples: Sample[] = Array.from({ length: 3000 }, (_, i) => ({
      entity: { kind: 'Pod', namespace: `ns-${i % 7}`, name: `pod-${i}`, container: 'app' },
      signal: i % 2 ? 'cpu_usage_cores' : 'memory_working_set_bytes',
      value: i / 7,
      unit: i % 2 ? 'cores' : 'bytes',
      at,
      ...(i % 3 ? { limit: 2, request: 0.5 } : {}),
      ...(i % 5 ? { labels: { app: `a${i % 4}` } } : {}),
    }));
    const { batches } = chunkSamples(samples, 256 * 1024, {
      scrapeId: 's-1',
      scrapedAt: at,
      source: 'metrics.k8s.io',
    });
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) {
      expect(isKnownValidMetricsData(batch)).toBe(true);
      expect(isKnownValidMetricsData(JSON.parse(JSON.stringify(batch)))).toBe(true);
    }
    expect(KNOWN_VALID[EVENT_TYPES.metrics]?.(VALID_DATA[EVENT_TYPES.metrics])).toBe(true);
  });

  it('leaves to zod what it cannot vouch for', () => {
    const base = VALID_DATA[EVENT_TYPES.metrics];
    const sample = base.samples[0] as Sample;
    const cases: unknown[] = [
      { ...base, samples: [{ ...sample, value: Number.NaN }] },
      { ...base, samples: [{ ...sample, at: '2026-02-30T00:00:00Z' }] },
      { ...base, samples: [{ ...sample, limit: undefined }] },
      { ...base, samples: [{ ...sample, entity: { ...sample.entity, name: '' } }] },
      { ...base, samples: [{ ...sample, labels: JSON.parse('{"__proto__":"x"}') as unknown }] },
      { ...base, batch: { index: 1, count: 1 } },
      { ...base, extra: 1 },
      [base],
    ];
    for (const data of cases) expect(isKnownValidMetricsData(data)).toBe(false);
  });
});
