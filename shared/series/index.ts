import type { Sample } from '../contracts/index.js';

// Where a series' state lives. score keeps series records grouped in hash buckets, one store key
// per bucket (docs/adr/0001-series-buckets.md), and scrape keeps a bucket's series in one metrics
// batch, so the batches of one scrape, scored by different instances at once, do not race on a
// bucket.

/** Stable key of a series: the entity (with container) and the signal. */
export function seriesKey(s: Sample): string {
  const e = s.entity;
  return ['series', e.kind, e.namespace ?? '', e.name, e.container ?? '', s.signal].join('|');
}

/**
 * Buckets the series are spread over. A store key per bucket: 4 096 keys hold 50 000 series at ~12
 * a key, and a small cluster's series still get a key each. Changing it moves every series to
 * another bucket, so all baselines are relearnt.
 */
export const SERIES_BUCKETS = 4096;

/**
 * Items in a list per bucket number, each list in input order (a counting sort: scrape groups a
 * scrape's samples with it; a comparator sort or a map of lists cost more).
 */
export function listsByBucket<T>(items: Iterable<T>, bucketOf: (item: T) => number): (T[] | undefined)[] {
  const lists = new Array<T[] | undefined>(SERIES_BUCKETS);
  for (const item of items) addToBucket(lists, bucketOf(item), item);
  return lists;
}

/** Append an item to its bucket's list in `lists` (by bucket number), starting the list if need be. */
export function addToBucket<T>(lists: (T[] | undefined)[], bucket: number, item: T): void {
  const list = lists[bucket];
  if (list) list.push(item);
  else lists[bucket] = [item];
}

/**
 * The bucket of a series key: MurmurHash3's 32-bit mixing (Austin Appleby; x86_32 variant) over the
 * key's UTF-16 code units, two to a 32-bit block, then its finaliser, modulo SERIES_BUCKETS. Two
 * code units a step: FNV-1a's one multiply per unit was ~0.3 µs a key, this ~0.13 (a batch hashes
 * each of its series).
 */
export function seriesBucket(key: string): number {
  const length = key.length;
  let hash = 0x9747b28c;
  let i = 0;
  for (; i + 1 < length; i += 2) {
    hash ^= scramble(key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16));
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  if (i < length) hash ^= scramble(key.charCodeAt(i));
  hash ^= length;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return (hash >>> 0) % SERIES_BUCKETS;
}

function scramble(block: number): number {
  const k = Math.imul(block, 0xcc9e2d51);
  return Math.imul((k << 15) | (k >>> 17), 0x1b873593);
}
