import { describe, expect, it } from 'vitest';
import { queryRange, type Fetch } from '../../../shared/prometheus/index.js';

const answer =
  (status: number, body: unknown, seen: string[] = []): Fetch =>
  (url) => {
    seen.push(url);
    return Promise.resolve({
      status,
      json: () => Promise.resolve(body),
      text: () => Promise.resolve(JSON.stringify(body)),
    });
  };

describe('Prometheus range query', () => {
  it('asks for the range and step, and reads the matrix in time order', async () => {
    const seen: string[] = [];
    const fetch = answer(
      200,
      {
        status: 'success',
        data: {
          resultType: 'matrix',
          result: [
            {
              metric: { service: 'cart' },
              values: [
                [1_767_225_600, '0.5'],
                [1_767_225_660, '0.75'],
              ],
            },
          ],
        },
      },
      seen,
    );
    const start = new Date('2026-01-01T00:00:00Z');
    const series = await queryRange(
      'http://prom:9090',
      'http_error_ratio',
      { start, end: new Date(start.getTime() + 60_000), stepSeconds: 60 },
      { fetch },
    );
    expect(series).toEqual([
      {
        labels: { service: 'cart' },
        points: [
          { value: 0.5, at: '2026-01-01T00:00:00.000Z' },
          { value: 0.75, at: '2026-01-01T00:01:00.000Z' },
        ],
      },
    ]);
    const url = new URL(seen[0] ?? '');
    expect(url.pathname).toBe('/api/v1/query_range');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      query: 'http_error_ratio',
      start: '1767225600',
      end: '1767225660',
      step: '60',
    });
  });

  it('fails as unavailable (the event is retried) on an error answer or a body that is not a matrix', async () => {
    const range = { start: new Date(0), end: new Date(60_000), stepSeconds: 60 };
    await expect(queryRange('http://p', 'x', range, { fetch: answer(503, 'down') })).rejects.toThrow(/503/);
    const vector = { status: 'success', data: { resultType: 'vector', result: [] } };
    await expect(queryRange('http://p', 'x', range, { fetch: answer(200, vector) })).rejects.toThrow(
      /unexpected range body/,
    );
  });
});
