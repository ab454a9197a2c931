import { jsonCodec, readable, type Codec } from './codec.js';
import type { BaselineStore, CasWrite, Versioned } from './store.js';

/** In-process store for tests and the sandbox; values are encoded in and decoded out like a real store. */
export class MemoryStore implements BaselineStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, { version: number; bytes: Uint8Array }>();

  load<T>(keys: readonly string[], codec: Codec<T> = jsonCodec<T>()): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    for (const key of keys) {
      const entry = this.data.get(key);
      if (!entry) continue;
      out.set(key, { version: entry.version, value: readable(() => codec.decode(entry.bytes)) });
    }
    return Promise.resolve(out);
  }

  commit<T>(writes: readonly CasWrite<T>[], codec: Codec<T> = jsonCodec<T>()): Promise<string[]> {
    const conflicts: string[] = [];
    for (const w of writes) {
      const version = this.data.get(w.key)?.version ?? 0;
      if (version !== w.expected) conflicts.push(w.key);
      else this.data.set(w.key, { version: version + 1, bytes: Uint8Array.from(codec.encode(w.value)) });
    }
    return Promise.resolve(conflicts);
  }

  remove(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.data.delete(k);
    return Promise.resolve();
  }

  get size(): number {
    return this.data.size;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
