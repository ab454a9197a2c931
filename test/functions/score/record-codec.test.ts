import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Sample } from '../../../shared/contracts/index.js';
import { recycleSeriesRecord, SERIES_RECORD_CODEC } from '../../../functions/score/record-codec.js';
import { scoreSeries, type SeriesRecord } from '../../../functions/score/score-batch.js';
import { seriesKey } from '../../../shared/series/index.js';
import { DetectorSpec } from '../../../shared/contracts/index.js';
import { ByteWriter } from '../../../shared/store/byte-writer.js';
import { DEFAULT_PARAMS, newState, observe, type SeriesState } from '../../../functions/score/detector.js';
import { forecast, newForecast, updateForecast } from '../../../functions/score/forecast.js';

const encode = (r: SeriesRecord) => SERIES_RECORD_CODEC.encode(r);
const decode = (b: Uint8Array) => SERIES_RECORD_CODEC.decode(b);
const roundTrip = (r: SeriesRecord) => decode(encode(r).slice());

const SLOW_FIT = ['w', 'sx', 'sy', 'sxx', 'sxy', 'syy', 't0', 'last', 'lastX'] as const;
const FAST_FIT = ['fw', 'fsx', 'fsy', 'fsxx', 'fsxy', 'fsyy'] as const;

/** A forecast learnt on a flat hour, and a record of it in an older format holding only `fields`. */
function oldForecastRecord(
  format: number,
  fields: readonly ((typeof SLOW_FIT)[number] | (typeof FAST_FIT)[number])[],
) {
  const learnt = newForecast();
  for (let m = 0; m < 60; m++) updateForecast(learnt, 100e6 + (m % 2) * 1e5, m * 60_000);
  const w = new ByteWriter();
  w.u8(format);
  w.f64(59 * 60_000);
  w.u16(0); // no states
  w.u8(1);
  for (const k of fields) w.f64(learnt[k]);
  w.u16(0); // no episodes
  return { learnt, bytes: w.written().slice() };
}

/** The state fields of a format 1 record, in order. */
const FORMAT_1_FIELDS = [
  'n',
  't',
  'level',
  'trend',
  'spread',
  'zShort',
  'zSlow',
  'zMean',
  'zVar',
  'run',
  'alerted',
  'min',
  'max',
] as const;

const pick = <T extends object, K extends keyof T>(o: T, keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

/**
 * The record with trailing empty pattern words cut: missing words read as 0, and a recycled state's
 * words are zero-padded to its earlier length where a new one's stop at the last word stored.
 */
const wordsCut = (r: SeriesRecord): SeriesRecord => ({
  ...r,
  d: Object.fromEntries(
    Object.entries(r.d).map(([name, st]) => [
      name,
      { ...st, seen: st.seen.slice(0, st.seen.findLastIndex((w) => w !== 0) + 1) },
    ]),
  ),
});

/** A state with every field set to what no decode produces, to be recycled. */
function poisoned(): SeriesState {
  const s = newState();
  for (const k of Object.keys(s) as (keyof SeriesState)[])
    if (typeof s[k] === 'number') (s as unknown as Record<string, number>)[k] = 12345;
  s.move = 1;
  s.season = [7, 7, 7];
  s.seen = new Array<number>(40).fill(-1);
  return s;
}

const num = fc.double({ noDefaultInfinity: false, noNaN: false });
const state = fc.record({
  n: num,
  t: num,
  level: num,
  trend: num,
  spread: num,
  zShort: num,
  zSlow: num,
  zMean: num,
  zVar: num,
  run: num,
  alerted: num,
  min: num,
  max: num,
  season: fc.option(fc.array(num, { minLength: 1, maxLength: 300 }), { nil: undefined }),
  patterns: num,
  prev: num,
  step: num,
  move: fc.constantFrom(-1, 0, 1),
  bands: fc.nat({ max: 2 ** 32 - 1 }),
  // Signed 32-bit words; the codec leaves out trailing empty words (read back as missing = 0).
  seen: fc
    .array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 40 })
    .map((words) => words.slice(0, words.findLastIndex((w) => w !== 0) + 1)),
  patternAlerted: num,
  rangeAlerted: num,
  reported: num,
});
const forecastState = fc.record({
  w: num,
  sx: num,
  sy: num,
  sxx: num,
  sxy: num,
  syy: num,
  t0: num,
  last: num,
  lastX: num,
  fw: num,
  fsx: num,
  fsy: num,
  fsxx: num,
  fsxy: num,
  fsyy: num,
  // Up to ten recent (x, value) samples, flat.
  ring: fc.array(fc.tuple(num, num), { maxLength: 10 }).map((points) => points.flat()),
});
const episode = fc.record({ aboveSince: num, onset: num, lastEmit: num });
const record: fc.Arbitrary<SeriesRecord> = fc
  .record({
    t: num,
    d: fc.dictionary(fc.string({ maxLength: 40 }), state, { maxKeys: 3 }),
    e: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 60 }), episode, { maxKeys: 5 }),
    f: fc.option(forecastState, { nil: undefined }),
  })
  .map(({ f, ...rest }) => (f ? { ...rest, f } : rest));

describe('series record codec', () => {
  it('round-trips any record exactly (NaN and ±Infinity included, unlike JSON)', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(roundTrip(r)).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes into recycled states and episodes exactly as into new ones (pattern words past the record read as 0)', () => {
    fc.assert(
      fc.property(record, record, (before, after) => {
        const fresh = roundTrip(after);
        // The states and episodes of another record are recycled, then this one is decoded.
        recycleSeriesRecord(roundTrip(before));
        const reused = roundTrip(after);
        expect(wordsCut(reused)).toEqual(wordsCut(fresh));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips the records scoring really produces (seasonal profile and forecast included)', () => {
    const custom = [
      {
        name: 'leak-daily',
        spec: DetectorSpec.parse({
          signal: { metric: 'memory_working_set_bytes' },
          seasonality: 'daily',
        }),
      },
    ];
    let record: SeriesRecord | undefined;
    for (let m = 0; m < 400; m++) {
      const s: Sample = {
        entity: { kind: 'Pod', namespace: 'shop', name: 'cart-1', container: 'app' },
        signal: 'memory_working_set_bytes',
        value: 100e6 + m * 1e5 + (m % 7) * 1e4,
        unit: 'bytes',
        at: new Date(Date.UTC(2026, 0, 1) + m * 60_000).toISOString(),
        limit: 512e6,
      };
      record = scoreSeries(seriesKey(s), [s], record ? roundTrip(record) : undefined, custom).record;
    }
    const final = record as SeriesRecord;
    expect(Object.keys(final.d)).toEqual(['daily']);
    expect(final.d['daily']?.season?.length).toBeGreaterThan(0);
    expect(final.f).toBeDefined();
    expect(roundTrip(final)).toEqual(final);
  });

  it('scores identically whether the record went through the codec or stayed in memory', () => {
    let kept: SeriesRecord | undefined;
    let stored: SeriesRecord | undefined;
    for (let m = 0; m < 300; m++) {
      const s: Sample = {
        entity: { kind: 'Pod', namespace: 'shop', name: 'api-1', container: 'app' },
        signal: 'cpu_usage_cores',
        value: m === 250 ? 9 : 0.5 + 0.05 * Math.sin(m / 5),
        unit: 'cores',
        at: new Date(Date.UTC(2026, 0, 1) + m * 60_000).toISOString(),
      };
      const a = scoreSeries(seriesKey(s), [s], kept, []);
      const b = scoreSeries(seriesKey(s), [s], stored ? roundTrip(stored) : undefined, []);
      expect(b.anomalies).toEqual(a.anomalies);
      kept = a.record;
      stored = b.record;
    }
    expect(stored).toEqual(kept);
    // Without a seasonal profile (most series) the record is well under its JSON size.
    expect(encode(stored as SeriesRecord).length).toBeLessThan(0.8 * JSON.stringify(stored).length);
  });

  it('keeps any name as an own property (`__proto__` included), as JSON.parse does', () => {
    const r = JSON.parse(
      '{"t":0,"d":{},"e":{"__proto__":{"aboveSince":0,"onset":0,"lastEmit":0}}}',
    ) as SeriesRecord;
    const back = roundTrip(r);
    expect(Object.keys(back.e)).toEqual(['__proto__']);
    expect(back).toEqual(r);
    expect(Object.getPrototypeOf(back.e)).toBe(Object.prototype);
  });

  it('reads records that lie anywhere in a larger buffer, one after another (as a store reply holds them)', () => {
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), fc.nat(16), (records, gap) => {
        // One reply buffer: each record after a `gap`-byte header, as Redis values carry a version.
        const parts = records.map((r) => encode(r).slice());
        const reply = new Uint8Array(parts.reduce((n, p) => n + gap + p.length, 0)).fill(0xee);
        const views: Uint8Array[] = [];
        let at = 0;
        for (const p of parts) {
          reply.set(p, at + gap);
          views.push(reply.subarray(at + gap, at + gap + p.length));
          at += gap + p.length;
        }
        // A bad record between good ones leaves the next decode unaffected.
        expect(() => decode(reply.subarray(0, gap + 1))).toThrow();
        expect(views.map(decode)).toEqual(records.map((r) => roundTrip(r)));
      }),
      { numRuns: 300 },
    );
  });

  it('loads a format 1 record (before pattern novelty) and learns patterns before flagging one', () => {
    // A baseline written by the previous release: format 1, one state without pattern fields.
    const learnt = newState();
    for (let m = 0; m < 2000; m++) observe(learnt, 10 + (m % 3), m * 60_000);
    const w = new ByteWriter();
    w.u8(1);
    w.f64(2000 * 60_000);
    w.u16(1);
    const name = Buffer.from('none');
    w.u16(name.length);
    w.bytes(name);
    for (const k of FORMAT_1_FIELDS) w.f64(learnt[k]);
    w.u16(0); // no season
    w.u8(0); // no forecast
    w.u16(0); // no episodes
    // Decoded into a recycled state whose every field is set: the fields format 1 lacks are reset.
    recycleSeriesRecord({ t: 0, d: { x: poisoned() }, e: {} });
    const old = decode(w.written().slice());
    const state = old.d['none'];
    expect(state?.n).toBe(learnt.n);
    expect(state?.level).toBe(learnt.level);
    expect(state?.patterns).toBe(0);
    expect(state?.seen.every((word) => word === 0)).toBe(true);
    expect({ ...state, seen: [] }).toEqual({
      ...newState(),
      ...pick(learnt, FORMAT_1_FIELDS),
      prev: learnt.level,
    });
    // Its pattern tables start empty: nothing may count as new until they have learnt.
    const scores: number[] = [];
    for (let m = 2000; m < 2000 + DEFAULT_PARAMS.patternWarmup; m++)
      scores.push(observe(state!, 10 + (m % 3), m * 60_000).score);
    expect(Math.max(...scores)).toBeLessThan(0.5);
    // And it is written back in the current format.
    expect(encode(old)[0]).toBe(6);
  });

  describe('states before the range and reported memories', () => {
    const learnt = newState();
    for (let m = 0; m < 500; m++) observe(learnt, 10 + (m % 3) + (m === 450 ? 30 : 0), m * 60_000);
    const current = encode({ t: 1, d: { none: learnt }, e: {} }).slice();
    // From the end: episodes (2), forecast flag (1), pattern words, bands and move, then the
    // reported memory's 8 bytes after the range memory's 8.
    const reportedAt = current.length - 2 - 1 - (2 + 4 * learnt.seen.length) - (1 + 4) - 8;
    const rangeAt = reportedAt - 8;

    it('loads a format 5 state (before the reported memory): every field kept, that memory at 0', () => {
      expect(learnt.reported).toBeGreaterThan(0);
      const old = Uint8Array.from([
        5,
        ...current.subarray(1, reportedAt),
        ...current.subarray(reportedAt + 8),
      ]);
      expect(decode(old)).toEqual({ t: 1, d: { none: { ...learnt, reported: 0 } }, e: {} });
      recycleSeriesRecord({ t: 0, d: { x: poisoned() }, e: {} });
      expect(wordsCut(decode(old))).toEqual({ t: 1, d: { none: { ...learnt, reported: 0 } }, e: {} });
    });

    it('loads a format 4 state (before the range memory): every field kept, both memories at 0', () => {
      expect(learnt.rangeAlerted).toBeGreaterThan(0);
      const old = Uint8Array.from([4, ...current.subarray(1, rangeAt), ...current.subarray(rangeAt + 16)]);
      expect(decode(old)).toEqual({ t: 1, d: { none: { ...learnt, rangeAlerted: 0, reported: 0 } }, e: {} });
      recycleSeriesRecord({ t: 0, d: { x: poisoned() }, e: {} });
      expect(wordsCut(decode(old))).toEqual({
        t: 1,
        d: { none: { ...learnt, rangeAlerted: 0, reported: 0 } },
        e: {},
      });
    });
  });

  it('loads a format 2 forecast (before the fast fit): the slow fit is kept, the fast one fills', () => {
    const { learnt, bytes } = oldForecastRecord(2, SLOW_FIT);
    const f = decode(bytes).f!;
    expect(f).toEqual({ ...learnt, fw: 0, fsx: 0, fsy: 0, fsxx: 0, fsxy: 0, fsyy: 0, ring: [] });
    // A leak starting now (2 MB/min): ten minutes in, the fast fit has filled and sees it. 120 MB
    // is reached, 136 MB to go: 68 minutes.
    for (let m = 60; m <= 70; m++) updateForecast(f, 100e6 + (m - 60) * 2e6, m * 60_000);
    const fc = forecast(f, 256e6, 5);
    expect(fc.tStat).toBeGreaterThan(5);
    expect(fc.secondsToLimit / 60).toBeGreaterThan(60);
    expect(fc.secondsToLimit / 60).toBeLessThan(76);
  });

  it('loads a format 3 forecast (before the recent samples): both fits kept, the samples fill', () => {
    const { learnt, bytes } = oldForecastRecord(3, [...SLOW_FIT, ...FAST_FIT]);
    const f = decode(bytes).f!;
    expect(f).toEqual({ ...learnt, ring: [] });
    updateForecast(f, 100e6, 60 * 60_000);
    expect(f.ring).toEqual([3600, 100e6]);
    // Written back with its samples, and at most ten of them are ever kept.
    for (let m = 61; m < 80; m++) updateForecast(f, 100e6, m * 60_000);
    expect(decode(encode({ t: 0, d: {}, e: {}, f }).slice()).f?.ring).toHaveLength(20);
  });

  it('refuses bytes it does not understand instead of inventing a state', () => {
    const bytes = encode({ t: 1, d: {}, e: { r: { aboveSince: -1, onset: -1, lastEmit: 0 } } }).slice();
    expect(() => decode(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated/);
    expect(() => decode(Uint8Array.from([...bytes, 0]))).toThrow(/trailing/);
    expect(() => decode(Uint8Array.from([9, ...bytes.subarray(1)]))).toThrow(/format 9/);
    expect(() => decode(Buffer.from('{"t":1,"d":{},"e":{}}'))).toThrow();
    expect(() => decode(new Uint8Array(0))).toThrow(/truncated/);
  });
});
