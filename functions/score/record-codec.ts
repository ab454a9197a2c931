// Compact binary form of a SeriesRecord: score reads and writes one per series per batch, so the
// store's traffic and the (de)serialisation time are the batch's cost. Numbers are float64 (NaN and
// ±Infinity survive, unlike JSON); names are UTF-8 with a 16-bit length. About 290 bytes for a
// usage series with one rule (a third of it pattern tables; a forecast adds 281 with its ten recent
// samples), against ~670 as JSON. An unknown format byte throws (the store then treats the series
// as new and relearns it).
import { ByteWriter } from '../../shared/store/byte-writer.js';
import type { Codec } from '../../shared/store/index.js';
import { newState, type SeriesState } from './detector.js';
import type { EpisodeState } from './episode.js';
import { newForecast, RING_POINTS, type ForecastState } from './forecast.js';
import type { SeriesRecord } from './score-batch.js';

/**
 * 6 added the memory of the last alert reported, 5 the range novelty's own alert memory, 4 the
 * forecast's recent samples, 3 the fast forecast fit, 2 pattern novelty; older records still load
 * (their reported and range memories start at 0, their recent samples, fast fit and pattern tables
 * start empty).
 */
const FORMAT = 6;
const FORMAT_WITHOUT_REPORTED_MEMORY = 5;
const FORMAT_WITHOUT_RANGE_MEMORY = 4;
const FORMAT_WITHOUT_RING = 3;
const FORMAT_WITHOUT_FAST_FIT = 2;
const FORMAT_WITHOUT_PATTERNS = 1;

/** A name: 16-bit length, then its UTF-8 bytes. */
function writeName(w: ByteWriter, name: string): void {
  const bytes = names.encode(name);
  w.u16(bytes.length);
  w.bytes(bytes);
}

/**
 * Reads one record at a time; one reader serves every decode (a batch decodes 50 000 records), and
 * its DataView is only remade when a record lies in another ArrayBuffer (a store reply's records
 * share one).
 */
class Reader {
  private at = 0;
  private end_ = 0;
  private bytes: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.bytes.buffer);

  /** Read `bytes[start, end)`: a record inside a larger value (a bucket) needs no view of its own. */
  reset(bytes: Uint8Array, start = 0, end = bytes.byteLength): this {
    if (bytes.buffer !== this.view.buffer) this.view = new DataView(bytes.buffer);
    this.bytes = bytes;
    this.at = bytes.byteOffset + start;
    this.end_ = bytes.byteOffset + end;
    return this;
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.at++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  f64(): number {
    this.need(8);
    return this.f64Unchecked();
  }
  /** Take `bytes` at once (checked) and return where they start, to be read through `dataView()`. */
  take(bytes: number): number {
    this.need(bytes);
    const at = this.at;
    this.at += bytes;
    return at;
  }
  dataView(): DataView {
    return this.view;
  }
  /** After `need` covered it. */
  u8Unchecked(): number {
    return this.view.getUint8(this.at++);
  }
  /** After `need` covered it. */
  u32Unchecked(): number {
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  /** After `need` covered it. */
  i32Unchecked(): number {
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }
  /** After `need` covered it. */
  f64Unchecked(): number {
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }
  need(bytes: number): void {
    if (this.at + bytes > this.end_) throw new RangeError('truncated series record');
  }
  str(): string {
    const bytes = this.u16();
    this.need(bytes);
    const v = names.decode(this.bytes, this.at - this.bytes.byteOffset, bytes);
    this.at += bytes;
    return v;
  }
  end(): void {
    if (this.at !== this.end_) throw new RangeError('trailing bytes after a series record');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Names in records (seasonality, rule names) are few and repeat in every record: their bytes and
 * strings are kept, bounded, so a batch does not encode and decode the same few names 50 000 times.
 */
class Names {
  private readonly bytesOf = new Map<string, Uint8Array>();
  private readonly byHead = new Map<number, { bytes: Uint8Array; name: string }[]>();
  private size = 0;

  encode(name: string): Uint8Array {
    let bytes = this.bytesOf.get(name);
    if (!bytes) {
      bytes = Buffer.from(name, 'utf8');
      if (bytes.length > 0xffff)
        throw new RangeError(`name too long for a series record (${bytes.length} bytes)`);
      this.remember(name, bytes);
    }
    return bytes;
  }

  decode(source: Uint8Array, at: number, length: number): string {
    const head = length * 256 + (length > 0 ? (source[at] as number) : 0);
    for (const known of this.byHead.get(head) ?? []) {
      if (known.bytes.length === length && equalBytes(known.bytes, source, at)) return known.name;
    }
    const name = utf8.decode(source.subarray(at, at + length));
    this.remember(name, source.slice(at, at + length));
    return name;
  }

  private remember(name: string, bytes: Uint8Array): void {
    if (this.size >= 1024) {
      this.bytesOf.clear();
      this.byHead.clear();
      this.size = 0;
    }
    this.size++;
    this.bytesOf.set(name, bytes);
    const head = bytes.length * 256 + (bytes.length > 0 ? (bytes[0] as number) : 0);
    const list = this.byHead.get(head);
    if (list) list.push({ bytes, name });
    else this.byHead.set(head, [{ bytes, name }]);
  }
}

function equalBytes(a: Uint8Array, source: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== source[at + i]) return false;
  return true;
}

const names = new Names();

// Field by field, so property access stays monomorphic (this is on every series' path). The
// readers build the same object shapes as newState/newForecast/newEpisode; a field added to one of
// those and not here fails the type check (forecast, episode readers) or the round-trip test, whose
// generated records must have every field (state, all writers).
// The runs of numbers go through the DataView directly (see ByteWriter#reserve): 50 000 records a
// batch, ~30 numbers in each state and 15 in a forecast.
function writeState(w: ByteWriter, s: SeriesState): void {
  let at = w.reserve(13 * 8);
  let v = w.dataView();
  v.setFloat64(at, s.n, true);
  v.setFloat64(at + 8, s.t, true);
  v.setFloat64(at + 16, s.level, true);
  v.setFloat64(at + 24, s.trend, true);
  v.setFloat64(at + 32, s.spread, true);
  v.setFloat64(at + 40, s.zShort, true);
  v.setFloat64(at + 48, s.zSlow, true);
  v.setFloat64(at + 56, s.zMean, true);
  v.setFloat64(at + 64, s.zVar, true);
  v.setFloat64(at + 72, s.run, true);
  v.setFloat64(at + 80, s.alerted, true);
  v.setFloat64(at + 88, s.min, true);
  v.setFloat64(at + 96, s.max, true);
  const season = s.season ?? [];
  w.u16(season.length);
  for (const value of season) w.f64(value);
  at = w.reserve(6 * 8);
  v = w.dataView();
  v.setFloat64(at, s.patterns, true);
  v.setFloat64(at + 8, s.prev, true);
  v.setFloat64(at + 16, s.step, true);
  v.setFloat64(at + 24, s.patternAlerted, true);
  v.setFloat64(at + 32, s.rangeAlerted, true);
  v.setFloat64(at + 40, s.reported, true);
  w.u8(s.move + 1);
  w.u32(s.bands);
  // Trailing empty words are left out (the detector reads missing words as 0).
  const seen = s.seen;
  let words = seen.length;
  while (words > 0 && seen[words - 1] === 0) words--;
  w.u16(words);
  for (let i = 0; i < words; i++) w.i32(seen[i] as number);
}

/**
 * States handed back after their record was encoded (`recycleSeriesRecord`), reused by the next
 * decode: a batch decodes 50 000 states, and a new one is ~475 bytes of garbage (the object, a heap
 * number per double field, the pattern words) where a reused one is none. Every field is written
 * by readState, the ones an older format lacks with newState's values.
 */
const freeStates: SeriesState[] = [];
const FREE_STATES = 64;
/** newState's values, for the fields an older format lacks (read only). */
const FRESH: Readonly<SeriesState> = newState();

function readState(r: Reader, format: number): SeriesState {
  let at = r.take(13 * 8);
  let v = r.dataView();
  // A recycled state, or the shape newState gives (one hidden class for every state).
  const state = freeStates.pop() ?? newState();
  state.n = v.getFloat64(at, true);
  state.t = v.getFloat64(at + 8, true);
  state.level = v.getFloat64(at + 16, true);
  state.trend = v.getFloat64(at + 24, true);
  state.spread = v.getFloat64(at + 32, true);
  state.zShort = v.getFloat64(at + 40, true);
  state.zSlow = v.getFloat64(at + 48, true);
  state.zMean = v.getFloat64(at + 56, true);
  state.zVar = v.getFloat64(at + 64, true);
  state.run = v.getFloat64(at + 72, true);
  state.alerted = v.getFloat64(at + 80, true);
  state.min = v.getFloat64(at + 88, true);
  state.max = v.getFloat64(at + 96, true);
  const bins = r.u16();
  if (bins > 0) {
    r.need(bins * 8);
    const season = state.season?.length === bins ? state.season : new Array<number>(bins);
    for (let i = 0; i < bins; i++) season[i] = r.f64Unchecked();
    state.season = season;
  } else state.season = undefined;
  // A recycled state's words are overwritten and the rest zeroed (missing words read as 0): setting
  // its length to 0 would hand the array's storage back and grow it again word by word.
  const seen = state.seen;
  if (format === FORMAT_WITHOUT_PATTERNS) {
    seen.fill(0);
    // The pattern tables start learning now (their own warm-up), from the baseline's level.
    state.patterns = FRESH.patterns;
    state.prev = state.level;
    state.step = FRESH.step;
    state.patternAlerted = FRESH.patternAlerted;
    state.rangeAlerted = FRESH.rangeAlerted;
    state.reported = FRESH.reported;
    state.move = FRESH.move;
    state.bands = FRESH.bands;
    return state;
  }
  const withRange = format > FORMAT_WITHOUT_RANGE_MEMORY;
  const withReported = format > FORMAT_WITHOUT_REPORTED_MEMORY;
  at = r.take((withReported ? 6 : withRange ? 5 : 4) * 8);
  v = r.dataView();
  state.patterns = v.getFloat64(at, true);
  state.prev = v.getFloat64(at + 8, true);
  state.step = v.getFloat64(at + 16, true);
  state.patternAlerted = v.getFloat64(at + 24, true);
  state.rangeAlerted = withRange ? v.getFloat64(at + 32, true) : FRESH.rangeAlerted;
  state.reported = withReported ? v.getFloat64(at + 40, true) : FRESH.reported;
  r.need(1 + 4);
  state.move = r.u8Unchecked() - 1;
  state.bands = r.u32Unchecked();
  const words = r.u16();
  r.need(words * 4);
  const kept = Math.min(words, seen.length);
  for (let i = 0; i < kept; i++) seen[i] = r.i32Unchecked();
  for (let i = kept; i < words; i++) seen.push(r.i32Unchecked());
  for (let i = words; i < seen.length; i++) seen[i] = 0;
  return state;
}

function writeForecast(w: ByteWriter, f: ForecastState): void {
  const at = w.reserve(15 * 8);
  const v = w.dataView();
  v.setFloat64(at, f.w, true);
  v.setFloat64(at + 8, f.sx, true);
  v.setFloat64(at + 16, f.sy, true);
  v.setFloat64(at + 24, f.sxx, true);
  v.setFloat64(at + 32, f.sxy, true);
  v.setFloat64(at + 40, f.syy, true);
  v.setFloat64(at + 48, f.t0, true);
  v.setFloat64(at + 56, f.last, true);
  v.setFloat64(at + 64, f.lastX, true);
  v.setFloat64(at + 72, f.fw, true);
  v.setFloat64(at + 80, f.fsx, true);
  v.setFloat64(at + 88, f.fsy, true);
  v.setFloat64(at + 96, f.fsxx, true);
  v.setFloat64(at + 104, f.fsxy, true);
  v.setFloat64(at + 112, f.fsyy, true);
  const ring = f.ring;
  const points = Math.min(RING_POINTS, ring.length >> 1);
  w.u8(points);
  for (let i = ring.length - 2 * points; i < ring.length; i++) w.f64(ring[i] as number);
}

function readForecast(r: Reader, format: number): ForecastState {
  const f = newForecast();
  let at = r.take(9 * 8);
  let v = r.dataView();
  f.w = v.getFloat64(at, true);
  f.sx = v.getFloat64(at + 8, true);
  f.sy = v.getFloat64(at + 16, true);
  f.sxx = v.getFloat64(at + 24, true);
  f.sxy = v.getFloat64(at + 32, true);
  f.syy = v.getFloat64(at + 40, true);
  f.t0 = v.getFloat64(at + 48, true);
  f.last = v.getFloat64(at + 56, true);
  f.lastX = v.getFloat64(at + 64, true);
  if (format <= FORMAT_WITHOUT_FAST_FIT) return f; // the fast fit starts empty (it fills within a few samples)
  at = r.take(6 * 8);
  v = r.dataView();
  f.fw = v.getFloat64(at, true);
  f.fsx = v.getFloat64(at + 8, true);
  f.fsy = v.getFloat64(at + 16, true);
  f.fsxx = v.getFloat64(at + 24, true);
  f.fsxy = v.getFloat64(at + 32, true);
  f.fsyy = v.getFloat64(at + 40, true);
  if (format <= FORMAT_WITHOUT_RING) return f; // the recent samples start empty (ten samples fill them)
  const points = r.u8();
  if (points > RING_POINTS)
    throw new RangeError(`${points} recent forecast samples (at most ${RING_POINTS})`);
  r.need(points * 16);
  const ring = f.ring;
  for (let i = 0; i < 2 * points; i++) ring.push(r.f64Unchecked());
  return f;
}

function writeEpisode(w: ByteWriter, e: EpisodeState): void {
  w.f64(e.aboveSince);
  w.f64(e.onset);
  w.f64(e.lastEmit);
}

/** Episodes handed back with their record, as states are. */
const freeEpisodes: EpisodeState[] = [];

function readEpisode(r: Reader): EpisodeState {
  r.need(3 * 8);
  const episode = freeEpisodes.pop();
  if (!episode) return { aboveSince: r.f64Unchecked(), onset: r.f64Unchecked(), lastEmit: r.f64Unchecked() };
  episode.aboveSince = r.f64Unchecked();
  episode.onset = r.f64Unchecked();
  episode.lastEmit = r.f64Unchecked();
  return episode;
}

/** One writer per process, reused: encode's result is a view, valid until the next encode. */
const scratch = new ByteWriter(4096);

function encode(record: SeriesRecord): Uint8Array {
  writeSeriesRecord(record, scratch.reset());
  return scratch.written();
}

/** Append a record's bytes (the codec's encodeInto; a bucket writes its entries' records with it). */
export function writeSeriesRecord(record: SeriesRecord, w: ByteWriter): void {
  w.u8(FORMAT);
  w.f64(record.t);
  let count = 0;
  for (const _ in record.d) count++;
  w.u16(count);
  for (const name in record.d) {
    writeName(w, name);
    writeState(w, record.d[name] as SeriesState);
  }
  w.u8(record.f ? 1 : 0);
  if (record.f) writeForecast(w, record.f);
  count = 0;
  for (const _ in record.e) count++;
  w.u16(count);
  for (const name in record.e) {
    writeName(w, name);
    writeEpisode(w, record.e[name] as EpisodeState);
  }
}

/** An own property whatever the name (`__proto__` included), as JSON.parse would make it. */
function own<T>(target: Record<string, T>, name: string, value: T): void {
  // defineProperty is slow and only `__proto__` needs it (assignment would set the prototype).
  if (name === '__proto__')
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

const reader = new Reader();

function decode(bytes: Uint8Array): SeriesRecord {
  return decodeSeriesRecordAt(bytes, 0, bytes.byteLength);
}

/** The record in `bytes[start, end)`; throws on bytes that are not one (as the codec's decode). */
export function decodeSeriesRecordAt(bytes: Uint8Array, start: number, end: number): SeriesRecord {
  const r = reader.reset(bytes, start, end);
  const format = r.u8();
  if (format < FORMAT_WITHOUT_PATTERNS || format > FORMAT)
    throw new RangeError(`unknown series record format ${format}`);
  const record: SeriesRecord = { d: {}, e: {}, t: r.f64() };
  for (let i = r.u16(); i > 0; i--) {
    const name = r.str();
    own(record.d, name, readState(r, format));
  }
  if (r.u8() === 1) record.f = readForecast(r, format);
  for (let i = r.u16(); i > 0; i--) {
    const name = r.str();
    own(record.e, name, readEpisode(r));
  }
  r.end();
  return record;
}

/**
 * The last sample time of the record in `bytes[start, end)`, read without decoding it (every format
 * starts with its format byte and that time); NaN when the bytes are too short for one.
 */
export function seriesRecordTimeAt(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 9) return Number.NaN;
  return new DataView(bytes.buffer, bytes.byteOffset + start + 1, 8).getFloat64(0, true);
}

/**
 * Hand a record's states back for the next decode to reuse, once the record is encoded and nothing
 * holds it (score's batch: the store writes the bytes, the anomalies copy what they report).
 */
export function recycleSeriesRecord(record: SeriesRecord): void {
  for (const name in record.d)
    if (freeStates.length < FREE_STATES) freeStates.push(record.d[name] as SeriesState);
  for (const name in record.e)
    if (freeEpisodes.length < FREE_STATES) freeEpisodes.push(record.e[name] as EpisodeState);
}

/** The store codec for series records. */
export const SERIES_RECORD_CODEC: Codec<SeriesRecord> = {
  name: 'series-record/1',
  encode,
  encodeInto: writeSeriesRecord,
  decode,
};
