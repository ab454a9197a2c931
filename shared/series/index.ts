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

/** The bucket of a series key: 32-bit FNV-1a of its UTF-16 code units, modulo SERIES_BUCKETS. */
export function seriesBucket(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % SERIES_BUCKETS;
}
