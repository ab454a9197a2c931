import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jsonPatch, mergePatch, patchTypeOf, strategicMergePatch } from '../../../sandbox/apiserver/patch.js';
import { formatCpu, formatMemory, parseQuantity } from '../../../sandbox/apiserver/quantity.js';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  selectorFromObject,
  selectorToString,
} from '../../../sandbox/apiserver/selectors.js';
import { formatAge, evalJsonPath } from '../../../sandbox/apiserver/table.js';
import { validateSchema, pruneUnknown } from '../../../sandbox/apiserver/schema.js';
import { parseDuration } from '../../../sandbox/simulator/scenario.js';

describe('quantities', () => {
  it.each([
    ['100m', 0.1],
    ['1', 1],
    ['1.5', 1.5],
    ['250000n', 0.00025],
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['2G', 2e9],
    ['1e3', 1000],
    ['12Ki', 12 * 1024],
  ])('parses %s', (text, value) => expect(parseQuantity(text)).toBeCloseTo(value, 12));

  it.each(['', 'abc', '1.2.3', '10 Mi', 'Mi'])('rejects %j', (text) =>
    expect(parseQuantity(text)).toBeUndefined(),
  );

  it('formats what it parses back to the same value (metrics-server style)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64_000 }),
        (milli) => Math.abs((parseQuantity(formatCpu(milli / 1000)) ?? -1) - milli / 1000) < 1e-12,
      ),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 24 }),
        (ki) => parseQuantity(formatMemory(ki * 1024)) === ki * 1024,
      ),
    );
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string(), (s) => void parseQuantity(s)));
  });
});

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['env in (prod, staging)', true],
    ['env notin (prod)', false],
    ['missing notin (x)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['', true],
  ])('%j matches: %s', (text, expected) =>
    expect(matchesLabels(parseLabelSelector(text), labels)).toBe(expected),
  );

  it('rejects garbage with a SelectorError, and only that', () => {
    expect(() => parseLabelSelector('a b c')).toThrow(SelectorError);
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          parseLabelSelector(s);
        } catch (e) {
          if (!(e instanceof SelectorError)) throw e;
        }
      }),
    );
  });

  it('round-trips metav1.LabelSelector objects through the string form', () => {
    const sel = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'qa'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    };
    const text = selectorToString(sel);
    expect(text).toBe('app=web,env in (prod,qa),!canary');
    for (const l of [labels, { app: 'web', env: 'qa', canary: 'y' }, { app: 'db' }] as Record<
      string,
      string
    >[]) {
      expect(matchesLabels(parseLabelSelector(text), l)).toBe(matchesLabels(selectorFromObject(sel), l));
    }
  });

  it('field selectors read nested fields', () => {
    const o = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'ns' },
      involvedObject: { name: 'p', uid: 'u1' },
    };
    expect(matchesFields(parseFieldSelector('involvedObject.name=p,involvedObject.uid=u1'), o)).toBe(true);
    expect(matchesFields(parseFieldSelector('involvedObject.uid!=u1'), o)).toBe(false);
    expect(matchesFields(parseFieldSelector('metadata.namespace=ns'), o)).toBe(true);
    expect(() => parseFieldSelector('nonsense')).toThrow(SelectorError);
  });
});

describe('patches', () => {
  it('merge patch follows RFC 7386 (null deletes, arrays replace)', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null, e: 4 }, l: [3] })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
      l: [3],
    });
  });

  it('JSON patch applies RFC 6902 operations and fails a failed test with 422', () => {
    expect(
      jsonPatch({ spec: { replicas: 1 } }, [
        { op: 'replace', path: '/spec/replicas', value: 3 },
        { op: 'add', path: '/x', value: 1 },
      ]),
    ).toEqual({ spec: { replicas: 3 }, x: 1 });
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(/rejected/);
    expect(() => jsonPatch({ a: 1 }, { op: 'x' })).toThrow(/array/);
  });

  it('strategic merge patch merges containers and env by name and honours $patch directives', () => {
    const live = {
      spec: {
        containers: [
          {
            name: 'app',
            image: 'a:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
          },
          { name: 'side', image: 's:1' },
        ],
        tolerations: [{ key: 'x' }],
      },
    };
    const out = strategicMergePatch(live, {
      $setElementOrder: {},
      spec: {
        containers: [
          {
            name: 'app',
            image: 'a:2',
            env: [
              { name: 'B', $patch: 'delete' },
              { name: 'C', value: '3' },
            ],
          },
          { name: 'new', image: 'n:1' },
        ],
        tolerations: [{ key: 'y' }],
      },
    });
    expect(out).toEqual({
      spec: {
        containers: [
          {
            name: 'app',
            image: 'a:2',
            env: [
              { name: 'A', value: '1' },
              { name: 'C', value: '3' },
            ],
          },
          { name: 'side', image: 's:1' },
          { name: 'new', image: 'n:1' },
        ],
        tolerations: [{ key: 'y' }],
      },
    });
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } })).toEqual({
      spec: { c: 3 },
    });
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $retainKeys: ['a'], a: 5 } })).toEqual({
      spec: { a: 5 },
    });
  });

  it('maps content types to patch types and rejects others with 415', () => {
    expect(patchTypeOf('application/merge-patch+json')).toBe('merge');
    expect(patchTypeOf('application/strategic-merge-patch+json; charset=utf-8')).toBe('strategic');
    expect(patchTypeOf('application/json-patch+json')).toBe('json');
    expect(patchTypeOf('application/apply-patch+yaml')).toBe('apply');
    expect(() => patchTypeOf('text/plain')).toThrow(/unknown format/);
  });
});

describe('CRD schemas', () => {
  const schema = {
    type: 'object',
    required: ['spec'],
    properties: {
      spec: {
        type: 'object',
        required: ['size'],
        properties: {
          size: { type: 'integer', minimum: 1, maximum: 10 },
          colour: { type: 'string', enum: ['red', 'blue'] },
          tags: { type: 'array', maxItems: 2, items: { type: 'string', pattern: '^[a-z]+$' } },
        },
      },
    },
  };
  it('accepts a valid object and reports every violation with its field path', () => {
    expect(validateSchema({ spec: { size: 3, colour: 'red', tags: ['a'] } }, schema)).toEqual([]);
    const causes = validateSchema({ spec: { size: 11, colour: 'green', tags: ['A', 'b', 'c'] } }, schema).map(
      (c) => c.field,
    );
    expect(causes).toEqual(expect.arrayContaining(['spec.size', 'spec.colour', 'spec.tags', 'spec.tags[0]']));
    expect(validateSchema({}, schema)[0]?.field).toBe('spec');
    expect(validateSchema({ spec: { size: '3' } }, schema)[0]?.message).toMatch(/must be of type integer/);
  });
  it('prunes unknown fields unless preserved', () => {
    expect(pruneUnknown({ spec: { size: 1, extra: 2 } }, schema)).toEqual({ spec: { size: 1 } });
    expect(
      pruneUnknown(
        { spec: { any: 1 } },
        {
          type: 'object',
          properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ),
    ).toEqual({ spec: { any: 1 } });
  });
});

describe('tables and durations', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T11:59:30Z', '30s'],
    ['2026-01-01T11:55:00Z', '5m'],
    ['2026-01-01T11:00:00Z', '60m'],
    ['2026-01-01T06:30:00Z', '5h30m'],
    ['2025-12-30T12:00:00Z', '2d'],
  ])('age of %s is %s', (ts, age) => expect(formatAge(ts, now)).toBe(age));
  it('evaluates printer-column JSONPaths', () => {
    expect(evalJsonPath({ status: { conditions: [{ type: 'Ready' }] } }, '.status.conditions[0].type')).toBe(
      'Ready',
    );
    expect(evalJsonPath({ spec: {} }, '.spec.missing.deep')).toBeUndefined();
  });
  it.each([
    ['10s', 10_000],
    ['1.5m', 90_000],
    ['2h45m', 9_900_000],
    ['1d', 86_400_000],
  ])('parses duration %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it('rejects a bad duration', () => expect(() => parseDuration('10 minutes')).toThrow(/invalid duration/));
});
