import { describe, expect, it } from 'vitest';
import { chunkSamples } from '../../../functions/scrape/chunk.js';
import type { Sample } from '../../../shared/contracts/index.js';

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
