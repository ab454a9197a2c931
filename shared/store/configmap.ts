import { createHash } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { statusOf } from '../kube/index.js';
import { JSON_CODEC, jsonCodec, readable, type Codec } from './codec.js';
import { StoreError, type BaselineStore, type CasWrite, type Versioned } from './store.js';

export interface ConfigMapStoreOptions {
  readonly core: k8s.CoreV1Api;
  readonly namespace: string;
  /** ConfigMaps are named `<prefix>-<shard>`. */
  readonly prefix?: string;
  readonly shards?: number;
  /** Stay well under the 1 MiB object limit; oldest entries are evicted beyond it (relearnt later). */
  readonly maxShardBytes?: number;
  readonly maxRetries?: number;
  readonly now?: () => number;
}

interface Entry {
  /** Version */
  v: number;
  /** Original key */
  k: string;
  /** Last write (ms), for eviction */
  t: number;
  /** State, as JSON (readable with kubectl) when the codec is JSON */
  s?: unknown;
  /** State in another codec's bytes, base64 */
  b?: string;
}

/** The stored state of an entry; throws when the codec cannot read it. */
function stateOf<T>(entry: Entry, codec: Codec<T>): T {
  if (codec === JSON_CODEC) return entry.s as T;
  if (entry.b === undefined) throw new Error('no encoded state');
  return codec.decode(Buffer.from(entry.b, 'base64'));
}

function encodedState<T>(value: T, codec: Codec<T>): Pick<Entry, 's' | 'b'> {
  if (codec === JSON_CODEC) return { s: value };
  return { b: Buffer.from(codec.encode(value)).toString('base64') };
}

/**
 * ConfigMap store: no extra infrastructure. Keys hash to a fixed number of shard ConfigMaps; each
 * write is a read-modify-write of the shard guarded by its resourceVersion (optimistic concurrency),
 * retried on 409, with per-key compare-and-set inside, so concurrent writers lose no update.
 */
export class ConfigMapStore implements BaselineStore {
  readonly kind = 'configmap' as const;
  private readonly prefix: string;
  private readonly shards: number;
  private readonly maxShardBytes: number;
  private readonly maxRetries: number;
  private readonly now: () => number;

  constructor(private readonly options: ConfigMapStoreOptions) {
    this.prefix = options.prefix ?? 'kurative-baselines';
    this.shards = options.shards ?? 16;
    this.maxShardBytes = options.maxShardBytes ?? 900 * 1024;
    this.maxRetries = options.maxRetries ?? 10;
    this.now = options.now ?? Date.now;
  }

  private static dataKey(key: string): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 40);
  }

  private shardOf(key: string): string {
    const h = createHash('sha256').update(key).digest().readUInt32BE(0);
    return `${this.prefix}-${h % this.shards}`;
  }

  private group(keys: readonly string[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const k of keys) out.set(this.shardOf(k), [...(out.get(this.shardOf(k)) ?? []), k]);
    return out;
  }

  private async read(name: string): Promise<k8s.V1ConfigMap | undefined> {
    try {
      return await this.options.core.readNamespacedConfigMap({ name, namespace: this.options.namespace });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new StoreError(`reading ConfigMap ${name} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  private static entry(cm: k8s.V1ConfigMap | undefined, key: string): Entry | undefined {
    const raw = cm?.data?.[ConfigMapStore.dataKey(key)];
    if (!raw) return undefined;
    try {
      const e = JSON.parse(raw) as Entry;
      return e.k === key ? e : undefined;
    } catch {
      return undefined;
    }
  }

  async load<T>(
    keys: readonly string[],
    codec: Codec<T> = jsonCodec<T>(),
  ): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    await Promise.all(
      [...this.group(keys)].map(async ([name, shardKeys]) => {
        const cm = await this.read(name);
        for (const k of shardKeys) {
          const e = ConfigMapStore.entry(cm, k);
          if (!e) continue;
          out.set(k, { version: e.v, value: readable(() => stateOf(e, codec)) });
        }
      }),
    );
    return out;
  }

  async commit<T>(writes: readonly CasWrite<T>[], codec: Codec<T> = jsonCodec<T>()): Promise<string[]> {
    const byShard = new Map<string, CasWrite<T>[]>();
    for (const w of writes)
      byShard.set(this.shardOf(w.key), [...(byShard.get(this.shardOf(w.key)) ?? []), w]);
    const conflicts = await Promise.all([...byShard].map(([name, ws]) => this.commitShard(name, ws, codec)));
    return conflicts.flat();
  }

  private async commitShard<T>(
    name: string,
    writes: readonly CasWrite<T>[],
    codec: Codec<T>,
  ): Promise<string[]> {
    for (let attempt = 0; attempt < this.maxRetries; attempt++) {
      const cm = await this.read(name);
      const data = { ...(cm?.data ?? {}) };
      const conflicts: string[] = [];
      for (const w of writes) {
        const current = ConfigMapStore.entry(cm, w.key);
        if ((current?.v ?? 0) !== w.expected) {
          conflicts.push(w.key);
          continue;
        }
        data[ConfigMapStore.dataKey(w.key)] = JSON.stringify({
          v: w.expected + 1,
          k: w.key,
          t: this.now(),
          ...encodedState(w.value, codec),
        } satisfies Entry);
      }
      if (conflicts.length === writes.length) return conflicts;
      this.evictOversize(data);
      try {
        if (cm) {
          await this.options.core.replaceNamespacedConfigMap({
            name,
            namespace: this.options.namespace,
            body: { ...cm, data },
          });
        } else {
          await this.options.core.createNamespacedConfigMap({
            namespace: this.options.namespace,
            body: {
              metadata: {
                name,
                namespace: this.options.namespace,
                labels: { 'app.kubernetes.io/part-of': 'kurative', 'kurative.dev/store': 'baselines' },
              },
              data,
            },
          });
        }
        return conflicts;
      } catch (error) {
        // 409: someone else wrote the shard (stale resourceVersion) or created it first: re-read and redo.
        if (statusOf(error) === 409) continue;
        throw new StoreError(`writing ConfigMap ${name} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    throw new StoreError(`ConfigMap ${name}: still conflicting after ${this.maxRetries} attempts`);
  }

  /** Drop the least recently written entries until the shard fits (they will be relearnt). */
  private evictOversize(data: Record<string, string>): void {
    let size = Object.entries(data).reduce((s, [k, v]) => s + k.length + v.length, 0);
    if (size <= this.maxShardBytes) return;
    const byAge = Object.entries(data)
      .map(([k, v]) => ({ k, v, t: (JSON.parse(v) as Entry).t }))
      .sort((a, b) => a.t - b.t);
    for (const e of byAge) {
      if (size <= this.maxShardBytes) break;
      delete data[e.k];
      size -= e.k.length + e.v.length;
    }
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (const [name, shardKeys] of this.group(keys)) {
      for (let attempt = 0; attempt < this.maxRetries; attempt++) {
        const cm = await this.read(name);
        if (!cm?.data) break;
        const data = { ...cm.data };
        for (const k of shardKeys) delete data[ConfigMapStore.dataKey(k)];
        try {
          await this.options.core.replaceNamespacedConfigMap({
            name,
            namespace: this.options.namespace,
            body: { ...cm, data },
          });
          break;
        } catch (error) {
          if (statusOf(error) !== 409)
            throw new StoreError(`writing ConfigMap ${name} failed`, { cause: error });
        }
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
