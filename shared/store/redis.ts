import { Redis } from 'ioredis';
import { StoreError, type BaselineStore, type CasWrite, type Versioned } from './store.js';

// Values are stored as "<version>|<json>" so one MGET reads versions and states together.
const SEP = '|';
/** Keys per compare-and-set script call. */
const CHUNK = 2000;

// Compare-and-set of many keys in one round trip. KEYS = keys; ARGV = ttlMs, then expected
// version and new payload per key. Returns the indexes (1-based) of keys whose version moved.
const CAS_SCRIPT = `
local ttl = tonumber(ARGV[1])
local conflicts = {}
for i, key in ipairs(KEYS) do
  local expected = tonumber(ARGV[i * 2])
  -- Only the version prefix is read (GETRANGE), not the whole stored state.
  local head = redis.call('GETRANGE', key, 0, 20)
  local version = 0
  if head ~= '' then version = tonumber(string.match(head, '^(%d+)|')) or 0 end
  if version == expected then
    local payload = (version + 1) .. '|' .. ARGV[i * 2 + 1]
    if ttl > 0 then redis.call('SET', key, payload, 'PX', ttl) else redis.call('SET', key, payload) end
  else
    table.insert(conflicts, i)
  end
end
return conflicts
`;

/** The pipeline with the compare-and-set script defined on the connection. */
interface CasPipeline {
  kurativeCas(numKeys: number, ...args: (string | number)[]): unknown;
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

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'kurative:';
    this.ttlMs = options.ttlMs ?? 7 * 86_400_000;
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

  async load<T>(keys: readonly string[]): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    if (keys.length === 0) return out;
    let raw: (string | null)[];
    try {
      await this.ready();
      raw = await this.redis.mget(keys.map((k) => this.prefix + k));
    } catch (cause) {
      throw new StoreError(`redis load failed: ${(cause as Error).message}`, { cause });
    }
    keys.forEach((key, i) => {
      const payload = raw[i];
      if (!payload) return;
      const at = payload.indexOf(SEP);
      try {
        out.set(key, {
          version: Number(payload.slice(0, at)),
          value: JSON.parse(payload.slice(at + 1)) as T,
        });
      } catch {
        // A corrupt entry is treated as absent with its version kept, so the next write replaces it.
        out.set(key, { version: Number(payload.slice(0, at)) || 0, value: undefined as T });
      }
    });
    return out;
  }

  async commit<T>(writes: readonly CasWrite<T>[]): Promise<string[]> {
    if (writes.length === 0) return [];
    // Large batches go as several scripts in one pipeline: still one round trip, and no call
    // with more arguments than a stack frame holds.
    const pipeline = this.redis.pipeline();
    const chunks: (readonly CasWrite<T>[])[] = [];
    for (let i = 0; i < writes.length; i += CHUNK) chunks.push(writes.slice(i, i + CHUNK));
    for (const chunk of chunks) {
      const args: (string | number)[] = [chunk.length];
      for (const w of chunk) args.push(this.prefix + w.key);
      args.push(this.ttlMs);
      for (const w of chunk) args.push(w.expected, JSON.stringify(w.value));
      (pipeline as unknown as CasPipeline).kurativeCas(...(args as [number, ...(string | number)[]]));
    }
    let results: [Error | null, unknown][] | null;
    try {
      await this.ready();
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
      await this.ready();
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
