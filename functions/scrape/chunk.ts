import type { MetricsData, Sample } from '../../shared/contracts/index.js';

/** Bytes a batch's envelope (ids, timestamps, brackets) takes beyond its samples. */
const ENVELOPE_BYTES = 512;

/**
 * Split samples into metrics batches whose JSON stays under `maxBytes`, so every event fits any
 * broker and scoring fans out across instances. Greedy in input order; a single sample larger than
 * the limit cannot be sent and is reported, not dropped silently.
 */
export function chunkSamples(
  samples: readonly Sample[],
  maxBytes: number,
  meta: { scrapeId: string; scrapedAt: string; source: MetricsData['source'] },
): { batches: MetricsData[]; oversized: number } {
  const groups: Sample[][] = [];
  let current: Sample[] = [];
  let size = ENVELOPE_BYTES;
  let oversized = 0;
  for (const s of samples) {
    const bytes = Buffer.byteLength(JSON.stringify(s)) + 1;
    if (bytes + ENVELOPE_BYTES > maxBytes) {
      oversized++;
      continue;
    }
    if (size + bytes > maxBytes && current.length > 0) {
      groups.push(current);
      current = [];
      size = ENVELOPE_BYTES;
    }
    current.push(s);
    size += bytes;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  return {
    batches: groups.map((g, index) => ({ ...meta, batch: { index, count: groups.length }, samples: g })),
    oversized,
  };
}
