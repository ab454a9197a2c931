// The stored form of a bucket of series (docs/adr/0001-series-buckets.md): one store value holds
// the records of every series of one bucket, so a batch of 50 000 series is ~4 000 store keys, not
// 50 000. Format 1: a format byte, then per series: its key (16-bit length, UTF-8), its record's
// length (32-bit) and the record (record-codec.ts). All little-endian.
import type { ByteWriter } from '../../shared/store/byte-writer.js';
import type { Codec } from '../../shared/store/index.js';
import { addToBucket, SERIES_BUCKETS, seriesBucket } from '../../shared/series/index.js';
import { writeSeriesRecord } from './record-codec.js';
import type { SeriesRecord } from './score-batch.js';

const BUCKET_FORMAT = 1;
const NO_HEAD = new Uint8Array(0);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The store key of each bucket, made once. */
export const BUCKET_KEYS: readonly string[] = Array.from(
  { length: SERIES_BUCKETS },
  (_, i) => `series-bucket|${i}`,
);

/** Each bucket's number by its store key. */
const BUCKET_NUMBERS: ReadonlyMap<string, number> = new Map(BUCKET_KEYS.map((key, i) => [key, i]));

/** A batch's series grouped by bucket: the store keys of the buckets it touches, and their series. */
export interface BucketGroups<V> {
  readonly keys: readonly string[];
  /** The batch's series keys in the bucket with that store key (none for another key). */
  seriesIn(bucketKey: string): readonly string[];
  /** Their values, in the same order. */
  valuesIn(bucketKey: string): readonly V[];
}

/**
 * A batch's series (key → value) grouped by bucket, keys and values side by side, in arrays by
 * bucket number. The values are gathered here, walking the map in its order, rather than looked up
 * by key while each bucket is scored: that lookup, in bucket order, was a cache miss or two a series
 * (the 50 000-series batch on a MemoryStore: 0.87–0.95 of the CPU; through Redis, within noise).
 */
export function groupByBucket<V>(bySeries: ReadonlyMap<string, V>): BucketGroups<V> {
  const keysOf = new Array<string[] | undefined>(SERIES_BUCKETS);
  const valuesOf = new Array<V[] | undefined>(SERIES_BUCKETS);
  bySeries.forEach((value, key) => {
    const bucket = seriesBucket(key);
    addToBucket(keysOf, bucket, key);
    addToBucket(valuesOf, bucket, value);
  });
  const present: string[] = [];
  for (let i = 0; i < SERIES_BUCKETS; i++) if (keysOf[i]) present.push(BUCKET_KEYS[i] as string);
  return {
    keys: present,
    seriesIn: (bucketKey) => keysOf[BUCKET_NUMBERS.get(bucketKey) ?? -1] ?? [],
    valuesIn: (bucketKey) => valuesOf[BUCKET_NUMBERS.get(bucketKey) ?? -1] ?? [],
  };
}

/**
 * Calls `visit` for each entry of a stored bucket, in order, with the series key, where the entry
 * starts and where its record lies. Stops at an entry that does not fit or whose key is not UTF-8
 * (what follows is lost and relearnt) and at an unknown format; returns whether it read to the end.
 */
export function readBucket(
  bytes: Uint8Array,
  visit: (key: string, entryStart: number, recordStart: number, recordEnd: number) => void,
): boolean {
  if (bytes.length === 0 || bytes[0] !== BUCKET_FORMAT) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 1;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) return false;
    const keyEnd = at + 2 + view.getUint16(at, true);
    if (keyEnd + 4 > bytes.length) return false;
    const recordStart = keyEnd + 4;
    const recordEnd = recordStart + view.getUint32(keyEnd, true);
    if (recordEnd > bytes.length) return false;
    let key: string;
    try {
      key = utf8.decode(bytes.subarray(at + 2, keyEnd));
    } catch {
      return false;
    }
    visit(key, at, recordStart, recordEnd);
    at = recordEnd;
  }
  return true;
}

/** Start a bucket's value in `out` (reset). */
export function startBucket(out: ByteWriter): void {
  out.reset();
  out.u8(BUCKET_FORMAT);
}

/** Append one series' entry: its key, then its record, with the record's length. */
export function writeBucketEntry(out: ByteWriter, key: string, record: SeriesRecord): void {
  out.str16(NO_HEAD, key);
  const lengthAt = out.reserve(4);
  const start = out.length;
  writeSeriesRecord(record, out);
  // Fetched after writing: growing the buffer replaces its view.
  out.dataView().setUint32(lengthAt, out.length - start, true);
}

/**
 * Bucket values as the bytes `scoreStored` builds: decode hands over the store's bytes (read with
 * `readBucket`), encode copies the bytes built (into the store's chunk buffer).
 */
export const SERIES_BUCKET_CODEC: Codec<Uint8Array> = {
  name: 'series-bucket/1',
  encode: (value) => value,
  encodeInto: (value, out) => out.bytes(value),
  decode: (bytes) => bytes,
};
