import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDemand, summariseDemand } from '../../../functions/rca/demand.js';
import { silentLog } from '../../support/runtime.js';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
/** One point a minute from `from` minutes to `to` minutes after T0, valued by `rate(minute)`. */
const points = (from: number, to: number, rate: (m: number) => number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    at: new Date(T0 + (from + i) * MIN).toISOString(),
    value: rate(from + i),
  }));
const catalog = { namespace: 'shop', service: 'catalog' };

describe('summariseDemand', () => {
  it('compares the median rate of the half hour before the onset with the median since', () => {
    // 50/s, one 500/s blip before; a ramp starting a minute before the onset (at 40) to 200/s.
    const rate = (m: number) => (m === 20 ? 500 : m < 39 ? 50 : m === 39 ? 120 : 200 + (m % 2));
    const [d] = summariseDemand([{ labels: catalog, points: points(8, 49, rate) }], T0 + 40 * MIN);
    expect(d).toEqual({ ...catalog, before: 50, since: 200.5 });
  });

  it('takes the latest point when the onset is newer than the last step', () => {
    const [d] = summariseDemand([{ labels: catalog, points: points(0, 40, () => 80) }], T0 + 40.5 * MIN);
    expect(d).toMatchObject({ before: 80, since: 80 });
  });

  it('leaves out series without a Service, with too little history, or with bad points', () => {
    const onset = T0 + 40 * MIN;
    expect(
      summariseDemand([{ labels: { namespace: 'shop' }, points: points(0, 45, () => 1) }], onset),
    ).toEqual([]);
    // Four points before the onset.
    expect(summariseDemand([{ labels: catalog, points: points(35, 45, () => 1) }], onset)).toEqual([]);
    const bad = points(0, 45, (m) => (m < 40 ? Number.NaN : 3));
    expect(summariseDemand([{ labels: catalog, points: bad }], onset)).toEqual([]);
  });
});

describe('readDemand', () => {
  let url = '';
  let last: URLSearchParams | undefined;
  let status = 200;
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://prometheus');
    last = u.searchParams;
    const start = Number(u.searchParams.get('start'));
    const values = Array.from({ length: 45 }, (_, i) => [start + i * 60, i < 32 ? '10' : '30']);
    res.writeHead(status, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'success',
        data: { resultType: 'matrix', result: [{ metric: catalog, values }] },
      }),
    );
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('asks for the half hour before the onset up to now, a point a minute, and summarises it', async () => {
    const onset = T0 + 40 * MIN;
    const demand = await readDemand(
      url,
      'sum by (namespace, service) (rps)',
      onset,
      onset + 10 * MIN,
      silentLog,
    );
    expect(last?.get('query')).toBe('sum by (namespace, service) (rps)');
    expect(Number(last?.get('start'))).toBe((onset - 32 * MIN) / 1000);
    expect(Number(last?.get('end'))).toBe((onset + 10 * MIN) / 1000);
    expect(last?.get('step')).toBe('60');
    expect(demand).toEqual([{ ...catalog, before: 10, since: 30 }]);
  });

  it('widens the step for a long incident, and goes on without rates when Prometheus fails', async () => {
    const onset = T0 + 40 * MIN;
    await readDemand(url, 'q', onset, onset + 48 * 60 * MIN, silentLog);
    expect(Number(last?.get('step'))).toBeGreaterThan(60);
    status = 503;
    await expect(readDemand(url, 'q', onset, onset, silentLog)).resolves.toEqual([]);
    await expect(readDemand('http://127.0.0.1:1', 'q', onset, onset, silentLog)).resolves.toEqual([]);
  });
});
