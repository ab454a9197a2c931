import { describe, expect, it } from 'vitest';
import { chunkSamples } from '../../../functions/scrape/chunk.js';
import type { Sample } from '../../../shared/contracts/index.js';
import { seriesBucket, seriesKey } from '../../../shared/series/index.js';

const meta = { scrapeId: 's', scrapedAt: '2026-01-01T00:00:00.000Z', source: 'mixed' as const };
const sample = (name: string, minute: number): Sample => ({
  entity: { kind: 'Service', namespace: 'shop', name },
  signal: 'http_error_ratio',
  value: minute / 100,
  at: new Date(Date.UTC(2026, 0, 1, 0, minute)).toISOString(),
});
const size = (s: unknown) => Buffer.byteLength(JSON.stringify(s));

describe('metrics batches', () => {
  it('keeps each series history whole in one batch, and every batch under the limit', () => {
    const histories = ['a', 'b', 'c'].map((n) => Array.from({ length: 40 }, (_, m) => sample(n, m)));
    const live = Array.from({ length: 30 }, (_, i) => sample(`live-${i}`, 59));
    const { batches, trimmed, oversized } = chunkSamples([...live, ...histories], 12_000, meta);
    expect([trimmed, oversized]).toEqual([0, 0]);
    for (const b of batches) expect(size(b)).toBeLessThanOrEqual(12_000);
    for (const n of ['a', 'b', 'c']) {
      const holding = batches.filter((b) => b.samples.some((s) => s.entity.name === n));
      expect(holding.length).toBe(1);
      expect(holding[0]?.samples.filter((s) => s.entity.name === n).length).toBe(40);
    }
    expect(batches.flatMap((b) => b.samples).length).toBe(30 + 120);
    expect(batches.map((b) => b.batch)).toEqual(
      batches.map((_, index) => ({ index, count: batches.length })),
    );
  });

  it("keeps the series of one store bucket in one batch, so a scrape's batches do not race on a bucket", () => {
    // 3 000 series over 4 096 buckets: hundreds of buckets hold two or more.
    const live = Array.from({ length: 3000 }, (_, i) => sample(`svc-${i}`, 59));
    const histories = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 5 }, (_, m) => sample(`svc-${i * 7}`, m)),
    );
    const { batches, trimmed, oversized } = chunkSamples([...live, ...histories], 20_000, meta);
    expect([trimmed, oversized]).toEqual([0, 0]);
    expect(batches.length).toBeGreaterThan(10);
    for (const b of batches) expect(size(b)).toBeLessThanOrEqual(20_000);
    const batchesOf = new Map<number, Set<number>>();
    batches.forEach((b, index) => {
      for (const s of b.samples) {
        const bucket = seriesBucket(seriesKey(s));
        batchesOf.set(bucket, (batchesOf.get(bucket) ?? new Set()).add(index));
      }
    });
    expect(Math.max(...[...batchesOf.values()].map((held) => held.size))).toBe(1);
    const shared = [...batchesOf.keys()].filter(
      (bucket) => live.filter((s) => seriesBucket(seriesKey(s)) === bucket).length > 1,
    );
    expect(shared.length).toBeGreaterThan(100);
    expect(batches.flatMap((b) => b.samples).length).toBe(3000 + 200);
  });

  it('trims a history too long for one batch from its oldest end, and reports it', () => {
    const history = Array.from({ length: 200 }, (_, m) => sample('a', m));
    const { batches, trimmed } = chunkSamples([history], 8_000, meta);
    expect(batches.length).toBe(1);
    const kept = batches[0]?.samples ?? [];
    expect(trimmed).toBe(200 - kept.length);
    expect(kept.at(-1)).toEqual(history.at(-1));
    expect(kept[0]).toEqual(history[200 - kept.length]);
    expect(size(batches[0])).toBeLessThanOrEqual(8_000);
  });

  it('reports a sample larger than an event instead of sending or silently dropping it', () => {
    const huge = { ...sample('a', 0), labels: { blob: 'x'.repeat(10_000) } };
    const { batches, oversized } = chunkSamples([huge, sample('b', 0)], 8_000, meta);
    expect(oversized).toBe(1);
    expect(batches.flatMap((b) => b.samples.map((s) => s.entity.name))).toEqual(['b']);
  });
});
