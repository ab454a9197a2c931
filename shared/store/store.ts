/** A stored value with the version that a compare-and-set must match. */
export interface Versioned<T> {
  readonly version: number;
  readonly value: T;
}

export interface CasWrite<T> {
  readonly key: string;
  /** Version read before computing `value` (0 when the key was absent). */
  readonly expected: number;
  readonly value: T;
}

/**
 * Where baselines and other small per-key state live (series baselines, incident correlation,
 * cooldowns, rate-limit counters). Every implementation gives the same guarantees:
 * - `load` reads many keys in one round trip;
 * - `commit` writes many keys in one round trip, each only if its version is still the one that
 *   was read (compare-and-set), and returns the keys that lost a race, so no update is ever lost;
 * - a failure throws (the caller answers 5xx and the event is retried); it never half-applies
 *   silently: each key is either written or reported as a conflict.
 */
export interface BaselineStore {
  readonly kind: 'memory' | 'redis' | 'configmap';
  load<T>(keys: readonly string[]): Promise<Map<string, Versioned<T>>>;
  commit<T>(writes: readonly CasWrite<T>[]): Promise<string[]>;
  /** Remove keys (e.g. state of deleted objects). */
  remove(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/**
 * Read-modify-write many keys atomically per key: load, compute, compare-and-set, and redo only the
 * keys that lost a race (another instance updated them meanwhile) until all are written.
 */
export async function updateMany<T>(
  store: BaselineStore,
  keys: readonly string[],
  compute: (key: string, current: T | undefined) => T,
  maxAttempts = 8,
): Promise<Map<string, T>> {
  const results = new Map<string, T>();
  let pending = [...new Set(keys)];
  for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt++) {
    const current = await store.load<T>(pending);
    const writes = pending.map((key) => {
      const found = current.get(key);
      const value = compute(key, found?.value);
      results.set(key, value);
      return { key, expected: found?.version ?? 0, value };
    });
    pending = await store.commit(writes);
  }
  if (pending.length > 0)
    throw new StoreError(`gave up after ${maxAttempts} attempts on ${pending.length} contended keys`);
  return results;
}
