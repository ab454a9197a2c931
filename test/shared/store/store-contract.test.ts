import { describe, expect, it } from 'vitest';
import {
  ConfigMapStore,
  MemoryStore,
  RedisStore,
  StoreError,
  updateEach,
  updateMany,
  type BaselineStore,
  type Codec,
} from '../../../shared/store/index.js';
import { Redis } from 'ioredis';
import { redisAvailable } from '../../support/redis.js';
import { useStoreBackends } from '../../support/store-backends.js';

const backends = useStoreBackends();

let counter = 0;
/** Each factory returns a maker of clients that share one backend (one namespace of keys). */
const implementations: [string, () => () => BaselineStore][] = [
  [
    'memory',
    () => {
      const shared = new MemoryStore();
      return () => shared;
    },
  ],
  [
    'configmap',
    () => {
      const prefix = `test-${++counter}`;
      return () => new ConfigMapStore({ core: backends.core, namespace: 'kurative', prefix, shards: 4 });
    },
  ],
];
if (redisAvailable) {
  implementations.push([
    'redis',
    () => {
      const prefix = `t${++counter}:`;
      return () => new RedisStore({ url: backends.redis?.url ?? '', prefix });
    },
  ]);
}

describe.each(implementations)('BaselineStore contract: %s', (_name, backend) => {
  const make = () => backend()();
  it('loads what was committed, with versions', async () => {
    const store = make();
    expect((await store.load(['a', 'b'])).size).toBe(0);
    expect(
      await store.commit([
        { key: 'a', expected: 0, value: { level: 1 } },
        { key: 'b', expected: 0, value: [1, 2] },
      ]),
    ).toEqual([]);
    const loaded = await store.load<unknown>(['a', 'b', 'c']);
    expect(loaded.get('a')).toEqual({ version: 1, value: { level: 1 } });
    expect(loaded.get('b')).toEqual({ version: 1, value: [1, 2] });
    expect(loaded.has('c')).toBe(false);
    await store.close();
  });

  it('refuses a stale compare-and-set and reports exactly the conflicting keys', async () => {
    const store = make();
    await store.commit([
      { key: 'x', expected: 0, value: 1 },
      { key: 'y', expected: 0, value: 1 },
    ]);
    const conflicts = await store.commit([
      { key: 'x', expected: 0, value: 2 },
      { key: 'y', expected: 1, value: 2 },
    ]);
    expect(conflicts).toEqual(['x']);
    const loaded = await store.load<number>(['x', 'y']);
    expect(loaded.get('x')).toEqual({ version: 1, value: 1 });
    expect(loaded.get('y')).toEqual({ version: 2, value: 2 });
    await store.close();
  });

  it('loses no update when three clients race on the same keys', async () => {
    const client = backend();
    const writers = [client(), client(), client()];
    const keys = ['k1', 'k2', 'k3', 'k4'];
    const increments = 12;
    await Promise.all(
      writers.map(async (s) => {
        for (let i = 0; i < increments; i++)
          await updateMany<number>(s, keys, (_k, current) => (current ?? 0) + 1, {
            maxAttempts: 100,
          });
      }),
    );
    const final = await (writers[0] as BaselineStore).load<number>(keys);
    for (const k of keys) expect(final.get(k)?.value).toBe(increments * writers.length);
    await Promise.all(writers.map((w) => w.close()));
  });

  it('chunks a large update and still loses no update when clients race (chunk smaller than the batch)', async () => {
    const client = backend();
    const writers = [client(), client()];
    const keys = Array.from({ length: 23 }, (_, i) => `chunked-${i}`);
    await Promise.all(
      writers.map(async (s) => {
        for (let i = 0; i < 5; i++)
          await updateEach<number>(s, keys, (_k, current) => (current ?? 0) + 1, {
            chunkSize: 4,
            maxAttempts: 100,
          });
      }),
    );
    const final = await (writers[0] as BaselineStore).load<number>(keys);
    expect(keys.map((k) => final.get(k)?.value)).toEqual(keys.map(() => 10));
    await Promise.all(writers.map((w) => w.close()));
  });

  it('stores values through another codec and reads what the codec cannot decode as absent', async () => {
    const store = make();
    // Like the series record codec, encode returns a view of one reused buffer: stores must copy.
    const scratch = new Float64Array(16);
    const doubles: Codec<number[]> = {
      name: 'f64',
      encode: (v) => {
        scratch.set(v);
        return Buffer.from(scratch.buffer, 0, v.length * 8);
      },
      decode: (b) => {
        if (b.byteLength % 8 !== 0) throw new RangeError('not doubles');
        return [...new Float64Array(Uint8Array.from(b).buffer)];
      },
    };
    await store.commit(
      [
        { key: 'bin', expected: 0, value: [1.5, Number.NaN, -Infinity] },
        { key: 'bin2', expected: 0, value: [7] },
      ],
      doubles,
    );
    const loaded = await store.load(['bin', 'bin2'], doubles);
    expect(loaded.get('bin')).toEqual({ version: 1, value: [1.5, Number.NaN, -Infinity] });
    expect(loaded.get('bin2')).toEqual({ version: 1, value: [7] });
    // Read through a codec that does not understand the bytes: absent value, version kept,
    // so the next write replaces it.
    const wrong: Codec<string> = {
      name: 'wrong',
      encode: (v) => Buffer.from(v),
      decode: () => {
        throw new Error('unreadable');
      },
    };
    expect((await store.load(['bin'], wrong)).get('bin')).toEqual({ version: 1, value: undefined });
    expect(await store.commit([{ key: 'bin', expected: 1, value: 'replaced' }], wrong)).toEqual([]);
    await store.close();
  });

  it('updates through a binary codec: each value decoded, computed, encoded, then recycled; races lose nothing', async () => {
    // A codec that reuses what it can, as the series record codec does: encode writes one scratch
    // buffer (a view), decode takes a recycled object. Recycling poisons the value first, so a value
    // encoded after it was recycled, or a recycled object still in use, would store a wrong count.
    const scratch = new Float64Array(1);
    const pool: { n: number }[] = [];
    const counter: Codec<{ n: number }> = {
      name: 'counter',
      encode: (v) => {
        scratch[0] = v.n;
        return new Uint8Array(scratch.buffer);
      },
      decode: (b) => {
        if (b.byteLength !== 8) throw new RangeError('not a counter');
        const v = pool.pop() ?? { n: 0 };
        v.n = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
        return v;
      },
    };
    let computed = 0;
    let recycled = 0;
    const recycle = (v: { n: number }) => {
      recycled++;
      v.n = Number.NaN;
      pool.push(v);
    };
    const client = backend();
    const writers = [client(), client()];
    const keys = Array.from({ length: 11 }, (_, i) => `binary-${i}`);
    // One key holds bytes the codec cannot read: computed as new, and replaced (its version kept).
    await (writers[0] as BaselineStore).commit([{ key: 'binary-3', expected: 0, value: 'junk' }]);
    await Promise.all(
      writers.map(async (s, w) => {
        for (let i = 0; i < 5; i++)
          await updateEach<{ n: number }>(
            s,
            // A list with a key twice (updated once), or a Set's keys (taken as they are).
            w === 0 ? [...keys, 'binary-0'] : new Set(keys),
            (k, current) => {
              computed++;
              // Each key's count starts apart (key i at 100·i), so bytes landing under another key show.
              return { n: (current?.n ?? 100 * keys.indexOf(k)) + 1 };
            },
            { codec: counter, recycle, chunkSize: 3, maxAttempts: 100 },
          );
      }),
    );
    const final = await (writers[0] as BaselineStore).load(keys, counter);
    expect(keys.map((k) => final.get(k)?.value.n)).toEqual(keys.map((_k, i) => 100 * i + 10));
    expect(final.get('binary-3')?.version).toBe(11);
    expect(recycled).toBe(computed);
    await Promise.all(writers.map((w) => w.close()));
  });

  it('removes keys', async () => {
    const store = make();
    await store.commit([{ key: 'gone', expected: 0, value: true }]);
    await store.remove(['gone']);
    expect((await store.load(['gone'])).size).toBe(0);
    await store.close();
  });
});

describe.runIf(redisAvailable)('RedisStore against a real redis-server', () => {
  it('lets two independent clients race without losing updates', async () => {
    const a = new RedisStore({ url: backends.redis?.url ?? '', prefix: 'race:' });
    const b = new RedisStore({ url: backends.redis?.url ?? '', prefix: 'race:' });
    const keys = Array.from({ length: 50 }, (_, i) => `series-${i}`);
    await Promise.all(
      [a, b].map(async (s) => {
        for (let i = 0; i < 20; i++)
          await updateMany<number>(s, keys, (_k, v) => (v ?? 0) + 1, { maxAttempts: 100 });
      }),
    );
    const final = await a.load<number>(keys);
    expect([...final.values()].every((v) => v.value === 40)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('writes each key under its exact name, whatever its characters and length', async () => {
    const store = new RedisStore({ url: backends.redis?.url ?? '', prefix: 'ünï:' });
    const raw = new Redis(backends.redis?.url ?? '');
    try {
      // Keys travel packed in one script argument (length-prefixed UTF-8), not as KEYS.
      const keys = ['series|Pod|ns|café-☕|app|cpu', 'k', 'x'.repeat(2000), '日本語|键'];
      expect(await store.commit(keys.map((key, i) => ({ key, expected: 0, value: i })))).toEqual([]);
      for (const [i, key] of keys.entries()) expect(await raw.get(`ünï:${key}`)).toBe(`00000001${i}`);
      const loaded = await store.load<number>(keys);
      expect(keys.map((k) => loaded.get(k)?.value)).toEqual([0, 1, 2, 3]);
      // A stale write to one of them is refused by name, the others go through.
      expect(
        await store.commit(keys.map((key, i) => ({ key, expected: i === 3 ? 0 : 1, value: i + 10 }))),
      ).toEqual([keys[3]]);
      await expect(store.commit([{ key: 'y'.repeat(70_000), expected: 0, value: 1 }])).rejects.toThrow(
        /too long/,
      );
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('overwrites a value without a valid version header instead of blocking the key', async () => {
    const store = new RedisStore({ url: backends.redis?.url ?? '', prefix: 'junk:' });
    const raw = new Redis(backends.redis?.url ?? '');
    try {
      for (const [key, junk] of [
        ['short', 'abc'],
        ['upper', 'ABCDEF01{"a":1}'],
        ['old-format', '12|{"level":1}'],
      ] as const) {
        await raw.set(`junk:${key}`, junk);
        const loaded = await store.load<unknown>([key]);
        expect(loaded.get(key)).toEqual({ version: 0, value: undefined });
        expect(await store.commit([{ key, expected: 0, value: { fresh: true } }])).toEqual([]);
        expect((await store.load<unknown>([key])).get(key)).toEqual({ version: 1, value: { fresh: true } });
      }
      // A stale writer still loses against a valid header.
      expect(await store.commit([{ key: 'short', expected: 0, value: 'stale' }])).toEqual(['short']);
      // Versions wrap to 1, never to 0 (absent).
      await raw.set('junk:wrap', 'ffffffff"x"');
      expect((await store.load<string>(['wrap'])).get('wrap')).toEqual({ version: 2 ** 32 - 1, value: 'x' });
      expect(await store.commit([{ key: 'wrap', expected: 2 ** 32 - 1, value: 'y' }])).toEqual([]);
      expect((await store.load<string>(['wrap'])).get('wrap')).toEqual({ version: 1, value: 'y' });
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('fails loudly while Redis is down, and works again (relearning) after a restart', async () => {
    const store = new RedisStore({ url: backends.redis?.url ?? '', prefix: 'restart:' });
    await store.commit([{ key: 'a', expected: 0, value: 1 }]);
    await backends.redis?.stop();
    await expect(store.load(['a'])).rejects.toBeInstanceOf(StoreError);
    await expect(store.commit([{ key: 'a', expected: 1, value: 2 }])).rejects.toBeInstanceOf(StoreError);
    await backends.redis?.restart();
    // The restarted Redis kept nothing (no persistence): state is relearnt from version 0.
    let loaded: Awaited<ReturnType<typeof store.load<number>>> | undefined;
    for (let i = 0; i < 50 && loaded === undefined; i++) {
      loaded = await store.load<number>(['a']).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    expect(loaded?.has('a')).toBe(false);
    expect(await store.commit([{ key: 'a', expected: 0, value: 5 }])).toEqual([]);
    await store.close();
  });
});

describe('ConfigMapStore on the sandbox API server', () => {
  it('shards keys over ConfigMaps and evicts the oldest entries beyond the size cap', async () => {
    let now = 0;
    const store = new ConfigMapStore({
      core: backends.core,
      namespace: 'kurative',
      prefix: 'cap',
      shards: 1,
      maxShardBytes: 4000,
      now: () => ++now,
    });
    for (let i = 0; i < 40; i++) await store.commit([{ key: `s${i}`, expected: 0, value: 'x'.repeat(50) }]);
    const cm = await backends.core.readNamespacedConfigMap({
      namespace: 'kurative',
      name: 'cap-0',
    });
    const size = Object.entries(cm.data ?? {}).reduce((s, [k, v]) => s + k.length + v.length, 0);
    expect(size).toBeLessThanOrEqual(4000);
    const loaded = await store.load(['s0', 's39']);
    expect(loaded.has('s0')).toBe(false);
    expect(loaded.has('s39')).toBe(true);
  });
});
