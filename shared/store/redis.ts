import { Redis } from 'ioredis';
import { ByteWriter } from './byte-writer.js';
import { jsonCodec, readable, type Codec } from './codec.js';
import { StoreError, type BaselineStore, type CasWrite, type Versioned } from './store.js';

// Values are stored as an 8-hex-digit version followed by the codec's bytes, so one MGET reads
// versions and states together and the script compares versions without parsing the state.
const HEADER = 8;
/** Versions run 1 … 2³² − 1 and wrap to 1 (0 means absent). */
const VERSION_WRAP = 2 ** 32 - 1;
/** Keys per compare-and-set script call (one script blocks Redis while it runs: ~10 ms each). */
const CHUNK = 2000;

// Compare-and-set of many keys in one round trip. ARGV[1] = ttlMs, ARGV[2] = the number of keys,
// ARGV[3] = one packed string holding, per key in order, the key (little-endian uint16 length, then
// its bytes), the expected version's header (8 bytes), the new value's length (little-endian
// uint32) and the new value (header included): one argument for the whole chunk instead of two or
// three per key, which was most of the client's cost of a large batch (building the command). The
// keys are not passed as KEYS: a batch spans hash slots, so this store is for one Redis primary
// (standalone, or behind a Service), not Redis Cluster — as the MGET of a batch already was.
// Returns the indexes (1-based) of keys whose version moved. Only the stored header is read
// (GETRANGE of 8 bytes; an absent key reads as empty): a SET ... GET returned the whole previous
// value, a bucket of series records, into Lua — ~20 % more of Redis's time on the 50 000-series
// bench. A value without a valid header counts as version 0 (as load reads it), so junk is
// overwritten instead of blocking the key forever.
const CAS_SCRIPT = `
local ttl = ARGV[1]
local count = tonumber(ARGV[2])
local packed = ARGV[3]
local pos = 1
local conflicts = {}
local sub, find, unpack, call = string.sub, string.find, struct.unpack, redis.call
for i = 1, count do
  local key, expected, size
  key, expected, size, pos = unpack('<Hc0c8I4', packed, pos)
  local value = sub(packed, pos, pos + size - 1)
  pos = pos + size
  local head = call('GETRANGE', key, 0, 7)
  local ok = head == expected
  if not ok then ok = expected == '00000000' and (#head < 8 or find(head, '[^0-9a-f]') ~= nil) end
  if ok then call('SET', key, value, 'PX', ttl) else conflicts[#conflicts + 1] = i end
end
return conflicts
`;

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** A version as 8 lowercase hex digits (the stored header). */
function writeHeader(w: ByteWriter, version: number): void {
  for (let shift = 28; shift >= 0; shift -= 4) w.u8(HEX_DIGITS[(version >>> shift) & 15] as number);
}

/** One packed write: key, expected version's header, length, then the new header and the body. */
function packWrite(w: ByteWriter, prefix: Uint8Array, key: string, expected: number, body: Uint8Array): void {
  w.str16(prefix, key);
  writeHeader(w, expected);
  w.u32(HEADER + body.length);
  writeHeader(w, (expected % VERSION_WRAP) + 1);
  w.bytes(body);
}

/** Version header of a stored value: 8 lowercase hex digits; 0 when unreadable (as the script reads it). */
function versionOf(raw: Uint8Array): number {
  if (raw.length < HEADER) return 0;
  let version = 0;
  for (let i = 0; i < HEADER; i++) {
    const c = raw[i] as number;
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (digit < 0) return 0;
    version = version * 16 + digit;
  }
  return version;
}

/** The pipeline with the compare-and-set script defined on the connection. */
interface CasPipeline {
  kurativeCas(numKeys: 0, ttlMs: number, count: number, packed: Buffer): unknown;
}

export interface RedisStoreOptions {
  readonly url: string;
  /** Key prefix, so several installations can share a Redis. */
  readonly prefix?: string;
  /** Idle state expires after this long (relearnt if the series comes back). */
  readonly ttlMs?: number;
  /** Fail fast instead of queueing commands while disconnected. */
  readonly connectTimeoutMs?: number;
}

/**
 * Redis store: one MGET to load a batch, one Lua script to compare-and-set it, both atomic on the
 * server, so concurrent scorers never lose an update. Commands fail fast when Redis is away (the
 * function answers 503 and the broker retries) instead of queueing.
 */
export class RedisStore implements BaselineStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;
  /** The prefix's UTF-8 bytes, written before every key in a packed write. */
  private readonly prefixBytes: Uint8Array;
  /** Size of the last packed argument: the next one starts that large instead of growing to it. */
  private packedSize = 64 * 1024;

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'kurative:';
    this.ttlMs = options.ttlMs ?? 7 * 86_400_000;
    this.prefixBytes = Buffer.from(this.prefix, 'utf8');
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    // Sent once, then called by its SHA (EVALSHA; ioredis reloads it after a Redis restart).
    this.redis.defineCommand('kurativeCas', { lua: CAS_SCRIPT });
    this.redis.on('error', () => {
      /* surfaced per command */
    });
  }

  /**
   * Whether commands can go out now. Callers await `ready()` only when this is false: an `await` of
   * an already connected store still defers the command to the next microtask, and `updateEach`
   * loads the next chunk before it computes this one, so a deferred MGET went out only after the
   * computing — Redis then sat idle behind it (measured: the 50 000-series batch ~10 % slower).
   */
  private get connected(): boolean {
    return this.redis.status === 'ready';
  }

  private async ready(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect();
    if (this.redis.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new StoreError(`redis not ready (${this.redis.status})`)),
          2000,
        );
        this.redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async load<T>(
    keys: readonly string[],
    codec: Codec<T> = jsonCodec<T>(),
  ): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    if (keys.length === 0) return out;
    let raw: (Buffer | null)[];
    try {
      if (!this.connected) await this.ready();
      raw = await this.redis.mgetBuffer(keys.map((k) => this.prefix + k));
    } catch (cause) {
      throw new StoreError(`redis load failed: ${(cause as Error).message}`, { cause });
    }
    for (let i = 0; i < keys.length; i++) {
      const payload = raw[i];
      if (!payload) continue;
      const version = versionOf(payload);
      // Without a version header the entry is junk: absent, and the next write replaces it. The body
      // is a plain Uint8Array view: Buffer#subarray goes through the species constructor (slower).
      const value =
        version === 0
          ? (undefined as T)
          : readable(() =>
              codec.decode(
                new Uint8Array(payload.buffer, payload.byteOffset + HEADER, payload.length - HEADER),
              ),
            );
      out.set(keys[i] as string, { version, value });
    }
    return out;
  }

  async commit<T>(writes: readonly CasWrite<T>[], codec: Codec<T> = jsonCodec<T>()): Promise<string[]> {
    if (writes.length === 0) return [];
    // Large batches go as several scripts in one pipeline: still one round trip, and Redis serves
    // other clients between them.
    const pipeline = this.redis.pipeline();
    const chunks: (readonly CasWrite<T>[])[] = [];
    for (let i = 0; i < writes.length; i += CHUNK) chunks.push(writes.slice(i, i + CHUNK));
    for (const chunk of chunks) {
      const packed = new ByteWriter(this.packedSize);
      for (const w of chunk) packWrite(packed, this.prefixBytes, w.key, w.expected, codec.encode(w.value));
      const bytes = packed.written();
      this.packedSize = Math.max(64 * 1024, bytes.length);
      (pipeline as unknown as CasPipeline).kurativeCas(
        0,
        this.ttlMs,
        chunk.length,
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
      );
    }
    let results: [Error | null, unknown][] | null;
    try {
      if (!this.connected) await this.ready();
      results = await pipeline.exec();
    } catch (cause) {
      throw new StoreError(`redis commit failed: ${(cause as Error).message}`, { cause });
    }
    const conflicts: string[] = [];
    chunks.forEach((chunk, c) => {
      const [error, value] = results?.[c] ?? [new Error('no reply'), undefined];
      if (error) throw new StoreError(`redis commit failed: ${error.message}`, { cause: error });
      for (const index of value as number[]) conflicts.push(chunk[index - 1]?.key ?? '');
    });
    return conflicts.filter(Boolean);
  }

  async remove(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      if (!this.connected) await this.ready();
      for (let i = 0; i < keys.length; i += CHUNK)
        await this.redis.del(keys.slice(i, i + CHUNK).map((k) => this.prefix + k));
    } catch (cause) {
      throw new StoreError(`redis delete failed: ${(cause as Error).message}`, { cause });
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await Promise.resolve();
  }
}
