import { describe, expect, it } from 'vitest';
import { SERIES_BUCKETS, seriesBucket, seriesKey } from '../../../shared/series/index.js';

describe('series buckets', () => {
  it('spreads look-alike series keys evenly over the buckets (as a uniform random spread would)', () => {
    // Names that differ in their last characters only, as pods and nodes do.
    const makers = [
      (i: number) => `series|Pod|ns-${i % 100}|pod-${i}|app|cpu_usage_cores`,
      (i: number) => `series|Node||node-${i}||memory_working_set_bytes`,
    ];
    for (const make of makers) {
      const counts = new Array<number>(SERIES_BUCKETS).fill(0);
      for (let i = 0; i < 50_000; i++) {
        const b = seriesBucket(make(i));
        expect(Number.isInteger(b) && b >= 0 && b < SERIES_BUCKETS).toBe(true);
        counts[b] = (counts[b] ?? 0) + 1;
      }
      const mean = 50_000 / SERIES_BUCKETS;
      const chiSquarePerDegree =
        counts.reduce((sum, c) => sum + (c - mean) ** 2 / mean, 0) / (SERIES_BUCKETS - 1);
      // A uniform spread gives 1 ± ~0.03; a weak hash (e.g. a sum of char codes) gives far more.
      expect(chiSquarePerDegree).toBeGreaterThan(0.85);
      expect(chiSquarePerDegree).toBeLessThan(1.15);
      expect(Math.max(...counts)).toBeLessThan(4 * mean);
    }
  });

  it('keys a series by its entity and signal, and buckets it the same way every time', () => {
    const sample = {
      entity: { kind: 'Pod', namespace: 'shop', name: 'cart-1', container: 'app' },
      signal: 'cpu_usage_cores',
      value: 1,
      at: '2026-01-01T00:00:00.000Z',
    };
    expect(seriesKey(sample)).toBe('series|Pod|shop|cart-1|app|cpu_usage_cores');
    expect(seriesKey({ ...sample, entity: { kind: 'Node', name: 'n1' } })).toBe(
      'series|Node||n1||cpu_usage_cores',
    );
    // Stored buckets must not move between releases: a pinned value.
    expect(seriesBucket(seriesKey(sample))).toBe(810);
  });
});
