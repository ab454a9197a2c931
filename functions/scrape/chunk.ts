import type { MetricsData, Sample } from '../../shared/contracts/index.js';

/** Bytes a batch's envelope (ids, timestamps, brackets) takes beyond its samples. */
const ENVELOPE_BYTES = 512;

/**
 * Split samples into metrics batches whose JSON stays under `maxBytes`, so every event fits any
 * broker and scoring fans out across instances. Greedy in input order. An array among the inputs
 * is one series' history and goes whole into one batch (score takes a series' samples in time
 * order, and batches may be scored in any order), trimmed from its oldest end if it cannot fit.
 * A single sample larger than the limit cannot be sent and is reported, not dropped silently.
 */
export function chunkSamples(
  inputs: readonly (Sample | readonly Sample[])[],
  maxBytes: number,
  meta: { scrapeId: string; scrapedAt: string; source: MetricsData['source'] },
): { batches: MetricsData[]; oversized: number; trimmed: number } {
  const room = maxBytes - ENVELOPE_BYTES;
  const groups: Sample[][] = [];
  let current: Sample[] = [];
  let size = 0;
  let oversized = 0;
  let trimmed = 0;
  for (const input of inputs) {
    const unit: readonly Sample[] = Array.isArray(input) ? input : [input as Sample];
    const sizes = unit.map((s) => Buffer.byteLength(JSON.stringify(s)) + 1);
    // Keep the newest samples that fit in one batch.
    let first = unit.length;
    let bytes = 0;
    while (first > 0 && bytes + (sizes[first - 1] ?? 0) <= room) bytes += sizes[--first] ?? 0;
    if (first === unit.length) {
      if (unit.length > 0) oversized++;
      continue;
    }
    trimmed += first;
    if (size + bytes > room && current.length > 0) {
      groups.push(current);
      current = [];
      size = 0;
    }
    for (let i = first; i < unit.length; i++) current.push(unit[i] as Sample);
    size += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return {
    batches: groups.map((g, index) => ({ ...meta, batch: { index, count: groups.length }, samples: g })),
    oversized,
    trimmed,
  };
}
