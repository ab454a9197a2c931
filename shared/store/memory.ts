import type { BaselineStore, CasWrite, Versioned } from './store.js';

/** In-process store for tests and the sandbox; values are deep-copied in and out like a real store. */
export class MemoryStore implements BaselineStore {
  readonly kind = 'memory' as const;
  private readonly data = new Map<string, { version: number; json: string }>();

  load<T>(keys: readonly string[]): Promise<Map<string, Versioned<T>>> {
    const out = new Map<string, Versioned<T>>();
    for (const key of keys) {
      const entry = this.data.get(key);
      if (entry) out.set(key, { version: entry.version, value: JSON.parse(entry.json) as T });
    }
    return Promise.resolve(out);
  }

  commit<T>(writes: readonly CasWrite<T>[]): Promise<string[]> {
    const conflicts: string[] = [];
    for (const w of writes) {
      const version = this.data.get(w.key)?.version ?? 0;
      if (version !== w.expected) conflicts.push(w.key);
      else this.data.set(w.key, { version: version + 1, json: JSON.stringify(w.value) });
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
