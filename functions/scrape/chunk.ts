import type { MetricsData, Sample } from '../../shared/contracts/index.js';
import { listsByBucket, seriesBucket, seriesKey } from '../../shared/series/index.js';

/** Bytes a batch's envelope (ids, timestamps, brackets) takes beyond its samples. */
const ENVELOPE_BYTES = 512;

/** What goes whole into one batch: a sample, or one series' history (trimmed to fit). */
interface Unit {
  readonly samples: readonly Sample[];
  readonly bytes: number;
  readonly bucket: number;
}

/**
 * Split samples into metrics batches whose JSON stays under `maxBytes`, so every event fits any
 * broker and scoring fans out across instances. An array among the inputs is one series' history
 * and goes whole into one batch (score takes a series' samples in time order, and batches may be
 * scored in any order), trimmed from its oldest end if it cannot fit. The series of one store
 * bucket (shared/series) go into one batch when they fit in one: the batches of a scrape are scored
 * at once by different instances, and two of them writing one bucket would race (one redoes it).
 * A single sample larger than the limit cannot be sent and is reported, not dropped silently.
 */
export function chunkSamples(
  inputs: readonly (Sample | readonly Sample[])[],
  maxBytes: number,
  meta: { scrapeId: string; scrapedAt: string; source: MetricsData['source'] },
): { batches: MetricsData[]; oversized: number; trimmed: number } {
  const room = maxBytes - ENVELOPE_BYTES;
  const { units, oversized, trimmed } = unitsOf(inputs, room);
  const groups: Sample[][] = [];
  let current: Sample[] = [];
  let size = 0;
  const cut = () => {
    groups.push(current);
    current = [];
    size = 0;
  };
  for (const bucket of listsByBucket(units, (unit) => unit.bucket)) {
    if (!bucket) continue;
    let bucketBytes = 0;
    for (const unit of bucket) bucketBytes += unit.bytes;
    // A bucket that fits in a batch of its own is not split across two.
    if (size + bucketBytes > room && current.length > 0 && bucketBytes <= room) cut();
    for (const unit of bucket) {
      if (size + unit.bytes > room && current.length > 0) cut();
      for (const s of unit.samples) current.push(s);
      size += unit.bytes;
    }
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return {
    batches: groups.map((g, index) => ({ ...meta, batch: { index, count: groups.length }, samples: g })),
    oversized,
    trimmed,
  };
}

/** Each input as a unit that fits a batch: histories keep their newest samples that fit. */
function unitsOf(
  inputs: readonly (Sample | readonly Sample[])[],
  room: number,
): { units: Unit[]; oversized: number; trimmed: number } {
  const units: Unit[] = [];
  let oversized = 0;
  let trimmed = 0;
  for (const input of inputs) {
    const unit: readonly Sample[] = Array.isArray(input) ? input : [input as Sample];
    const sizes = unit.map((s) => Buffer.byteLength(JSON.stringify(s)) + 1);
    let first = unit.length;
    let bytes = 0;
    while (first > 0 && bytes + (sizes[first - 1] ?? 0) <= room) bytes += sizes[--first] ?? 0;
    if (first === unit.length) {
      if (unit.length > 0) oversized++;
      continue;
    }
    trimmed += first;
    const samples = first === 0 ? unit : unit.slice(first);
    units.push({ samples, bytes, bucket: seriesBucket(seriesKey(samples[0] as Sample)) });
  }
  return { units, oversized, trimmed };
}
