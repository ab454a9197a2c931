import { describe, expect, it } from 'vitest';
import type { AnomalyData, Sample } from '../../../shared/contracts/index.js';
import { ConfigMapStore, MemoryStore, RedisStore, type BaselineStore } from '../../../shared/store/index.js';
import { seriesBucket, seriesKey } from '../../../shared/series/index.js';
import {
  groupSamples,
  scoreSeries,
  scoreStored,
  type SeriesRecord,
} from '../../../functions/score/score-batch.js';
import {
  BUCKET_KEYS,
  readBucket,
  SERIES_BUCKET_CODEC,
  startBucket,
  writeBucketEntry,
} from '../../../functions/score/series-bucket.js';
import { decodeSeriesRecordAt } from '../../../functions/score/record-codec.js';
import { ByteWriter } from '../../../shared/store/byte-writer.js';
import { redisAvailable } from '../../support/redis.js';
import { useStoreBackends } from '../../support/store-backends.js';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const cpu = (name: string, t: number, value: number): Sample => ({
  entity: { kind: 'Pod', namespace: 'shop', name, container: 'app' },
  signal: 'cpu_usage_cores',
  value,
  unit: 'cores',
  at: new Date(t).toISOString(),
  limit: 4,
  request: 0.05,
});
const keyOf = (name: string) => seriesKey(cpu(name, T0, 0));

/** `count` pod names whose series fall in the same bucket as `pod-0`'s. */
function sameBucket(count: number, offset = 0): string[] {
  const bucket = seriesBucket(keyOf(`pod-${offset}`));
  const names: string[] = [];
  for (let i = offset; names.length < count; i++)
    if (seriesBucket(keyOf(`pod-${i}`)) === bucket) names.push(`pod-${i}`);
  return names;
}

/** Every record in a series' bucket, by series key, as stored. */
async function storedBucket(store: BaselineStore, key: string): Promise<Map<string, SeriesRecord>> {
  const bucket = BUCKET_KEYS[seriesBucket(key)] as string;
  const bytes = (await store.load([bucket], SERIES_BUCKET_CODEC)).get(bucket)?.value;
  const out = new Map<string, SeriesRecord>();
  if (bytes)
    readBucket(bytes, (k, _entry, start, end) => out.set(k, decodeSeriesRecordAt(bytes, start, end)));
  return out;
}

async function score(store: BaselineStore, samples: Sample[], now?: number): Promise<AnomalyData[]> {
  const found: AnomalyData[] = [];
  await scoreStored(store, groupSamples(samples), [], (_key, result) => found.push(...result.anomalies), {
    ...(now === undefined ? {} : { now }),
  });
  return found;
}

const samplesOf = (r: SeriesRecord) => Object.values(r.d)[0]?.n ?? 0;

const backends = useStoreBackends();

const stores: [string, () => BaselineStore][] = [
  ['memory', () => new MemoryStore()],
  [
    'configmap',
    () =>
      new ConfigMapStore({
        core: backends.core,
        namespace: 'kurative',
        prefix: 'buckets',
        shards: 4,
      }),
  ],
];
if (redisAvailable)
  stores.push(['redis', () => new RedisStore({ url: backends.redis?.url ?? '', prefix: 'buckets:' })]);

describe.each(stores)('scoreStored: series records in buckets, on the %s store', (_name, makeStore) => {
  it('scores each series as if it kept its own record, whichever of its bucket-mates come along', async () => {
    // 24 series in 2 buckets, each minute a varying subset of them, a third of them jumping up at minute 70: the stored
    // path (records decoded from and encoded to shared buckets) must match records kept apart.
    const names = [...sameBucket(12), ...sameBucket(12, 5000)];
    const store = makeStore();
    const kept = new Map<string, SeriesRecord>();
    let anomalies = 0;
    for (let m = 0; m < 90; m++) {
      const t = T0 + m * MIN;
      const batch = names
        .filter((_, i) => (i * 7 + m * 3) % 5 !== 0)
        .map((n, i) => cpu(n, t, 1 + 0.1 * Math.sin(m / 7 + i) + (m >= 70 && i % 3 === 0 ? 3 : 0)));
      const expected: AnomalyData[] = [];
      for (const s of batch) {
        const key = seriesKey(s);
        const r = scoreSeries(key, [s], kept.get(key), []);
        kept.set(key, structuredClone(r.record));
        expected.push(...r.anomalies);
      }
      expect(await score(store, batch)).toEqual(expected);
      anomalies += expected.length;
    }
    expect(anomalies).toBeGreaterThan(0);
    expect(kept.size).toBe(24);
    for (const [key, record] of kept) expect((await storedBucket(store, key)).get(key)).toEqual(record);
    expect((await storedBucket(store, keyOf(names[0] as string))).size).toBe(12);
    await store.close();
  });
});

describe('scoreStored: expiry and damage', () => {
  it('drops a bucket-mate unseen for the idle time before the scrape, and keeps one seen within it', async () => {
    const [a, b, c] = sameBucket(3);
    const store = new MemoryStore();
    await score(store, [cpu(a as string, T0, 1)]);
    await score(store, [cpu(b as string, T0 + 6 * DAY, 1)]);
    expect([...(await storedBucket(store, keyOf(a as string))).keys()].sort()).toEqual(
      [keyOf(a as string), keyOf(b as string)].sort(),
    );
    // A sample dated a year ahead, in a scrape made on day 6: nobody ages out.
    await score(store, [cpu(c as string, T0 + 365 * DAY, 1)], T0 + 6 * DAY);
    expect((await storedBucket(store, keyOf(a as string))).size).toBe(3);
    // Eight days after a's last sample (two after b's): a goes, b stays.
    const d = sameBucket(4)[3] as string;
    await score(store, [cpu(d, T0 + 8 * DAY, 1)]);
    expect([...(await storedBucket(store, keyOf(a as string))).keys()].sort()).toEqual(
      [keyOf(b as string), keyOf(c as string), keyOf(d)].sort(),
    );
  });

  it('relearns what a damaged bucket loses, and keeps what it still holds', async () => {
    const [a, b, c] = sameBucket(3) as [string, string, string];
    const store = new MemoryStore();
    const bucket = BUCKET_KEYS[seriesBucket(keyOf(a))] as string;
    const history = (name: string) => [0, 1, 2].map((m) => cpu(name, T0 + m * MIN, 1));
    await score(store, [...history(a), ...history(b), ...history(c)]);
    const intact = await storedBucket(store, keyOf(a));
    const write = async (bytes: Uint8Array) => {
      const version = (await store.load([bucket], SERIES_BUCKET_CODEC)).get(bucket)?.version ?? 0;
      expect(
        await store.commit([{ key: bucket, expected: version, value: bytes }], SERIES_BUCKET_CODEC),
      ).toEqual([]);
    };
    const next = (m: number) => [a, b, c].map((n) => cpu(n, T0 + m * MIN, 1));

    // An unknown format: every series of the bucket starts again.
    await write(new Uint8Array([9, 1, 2, 3]));
    await score(store, next(3));
    for (const n of [a, b, c])
      expect(samplesOf((await storedBucket(store, keyOf(n))).get(keyOf(n)) as SeriesRecord)).toBe(1);

    // a's entry whole, b's record unreadable, then a truncated entry: a goes on, b and c start again.
    const out = new ByteWriter();
    startBucket(out);
    writeBucketEntry(out, keyOf(a), intact.get(keyOf(a)) as SeriesRecord);
    const bStart = out.length;
    writeBucketEntry(out, keyOf(b), intact.get(keyOf(b)) as SeriesRecord);
    const damaged = out.written().slice();
    // b's record starts after its key and length: its format byte becomes unknown.
    damaged[bStart + 2 + Buffer.byteLength(keyOf(b)) + 4] = 99;
    await write(Uint8Array.from([...damaged, 0x20, 0x00, 1, 2, 3]));
    await score(store, next(4));
    const after = await storedBucket(store, keyOf(a));
    expect(samplesOf(after.get(keyOf(a)) as SeriesRecord)).toBe(4);
    expect(samplesOf(after.get(keyOf(b)) as SeriesRecord)).toBe(1);
    expect(samplesOf(after.get(keyOf(c)) as SeriesRecord)).toBe(1);
  });
});

describe.runIf(redisAvailable)('scoreStored on a real Redis', () => {
  it('loses no update when two instances score different series of the same buckets at once', async () => {
    // Both instances' series share two buckets: every round, one of them loses a race.
    const names = [...sameBucket(12), ...sameBucket(12, 7000)];
    const first = names.filter((_, i) => i % 2 === 0);
    const second = names.filter((_, i) => i % 2 === 1);
    expect(new Set(names.map((n) => seriesBucket(keyOf(n)))).size).toBe(2);
    const stores = [0, 1].map(() => new RedisStore({ url: backends.redis?.url ?? '', prefix: 'race:' }));
    const [one, two] = stores as [RedisStore, RedisStore];
    let calls = 0;
    const count = () => calls++;
    const batch = (names: string[], m: number) => groupSamples(names.map((n) => cpu(n, T0 + m * MIN, 1)));
    const rounds = 15;
    for (let m = 0; m < rounds; m++)
      await Promise.all([
        scoreStored(one, batch(first, m), [], count),
        scoreStored(two, batch(second, m), [], count),
      ]);
    for (const n of [...first, ...second])
      expect(samplesOf((await storedBucket(one, keyOf(n))).get(keyOf(n)) as SeriesRecord)).toBe(rounds);
    // Each lost race scored its series again.
    expect(calls).toBeGreaterThan(rounds * (first.length + second.length));
    await Promise.all(stores.map((s) => s.close()));
  });
});
