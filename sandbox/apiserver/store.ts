import type { KubeObject } from './types.js';
import { ApiError } from './errors.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, in resourceVersion order, as watches see it. */
export interface ChangeRecord {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly storage: string;
  readonly object: KubeObject;
}

export type ChangeListener = (change: ChangeRecord) => void;

/**
 * Versioned object storage, like etcd under the API server: one global resourceVersion counter,
 * a bounded change log (watches resume from it; older versions get 410 Gone) and listeners.
 * Objects are stored frozen-by-convention: every read returns a deep copy.
 */
export class ObjectStore {
  private rv = 1;
  private readonly data = new Map<string, Map<string, KubeObject>>();
  private readonly log: ChangeRecord[] = [];
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly logLimit = 20_000) {}

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch may resume from. */
  get oldestResumable(): number {
    return this.log.length === 0 ? this.rv : (this.log[0]?.rv ?? this.rv) - 1;
  }

  static key(namespace: string | undefined, name: string): string {
    return `${namespace ?? ''}/${name}`;
  }

  get(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.data.get(storage)?.get(ObjectStore.key(namespace, name));
    return o ? structuredClone(o) : undefined;
  }

  /** Read without copying: callers must not mutate (hot paths: metrics, scheduling). */
  peek(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.data.get(storage)?.get(ObjectStore.key(namespace, name));
  }

  list(storage: string, namespace?: string): KubeObject[] {
    return this.scan(storage, namespace).map((o) => structuredClone(o));
  }

  /** Iterate without copying: callers must not mutate. */
  scan(storage: string, namespace?: string): KubeObject[] {
    const bucket = this.data.get(storage);
    if (!bucket) return [];
    const out: KubeObject[] = [];
    for (const o of bucket.values())
      if (namespace === undefined || o.metadata.namespace === namespace) out.push(o);
    return out;
  }

  /** Write a new or changed object; assigns the next resourceVersion and notifies watchers. */
  put(storage: string, object: KubeObject): KubeObject {
    const key = ObjectStore.key(object.metadata.namespace, object.metadata.name);
    let bucket = this.data.get(storage);
    if (!bucket) {
      bucket = new Map();
      this.data.set(storage, bucket);
    }
    const existed = bucket.has(key);
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.rv);
    bucket.set(key, stored);
    this.emit({ rv: this.rv, type: existed ? 'MODIFIED' : 'ADDED', storage, object: stored });
    return structuredClone(stored);
  }

  remove(storage: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.data.get(storage);
    const key = ObjectStore.key(namespace, name);
    const existing = bucket?.get(key);
    if (!bucket || !existing) return undefined;
    bucket.delete(key);
    const gone = structuredClone(existing);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', storage, object: gone });
    return structuredClone(gone);
  }

  /** Changes after `rv` for a storage key; throws 410 Gone when `rv` is older than the log. */
  changesSince(rv: number): ChangeRecord[] {
    if (rv < this.oldestResumable) {
      throw new ApiError(410, `too old resource version: ${rv} (${this.oldestResumable})`, 'Expired');
    }
    return this.log.filter((c) => c.rv > rv);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dropStorage(storage: string): void {
    this.data.delete(storage);
  }

  private emit(change: ChangeRecord): void {
    this.log.push(change);
    // Trim in chunks so a full log does not make every write O(n).
    if (this.log.length > this.logLimit * 1.1) this.log.splice(0, this.log.length - this.logLimit);
    for (const l of this.listeners) l(change);
  }
}
