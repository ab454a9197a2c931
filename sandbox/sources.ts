import { CloudEvent, type CloudEventV1 } from 'cloudevents';
import { EVENT_TYPES } from '../shared/contracts/index.js';
import type { Cluster } from './apiserver/cluster.js';
import { apiVersionOf } from './apiserver/resources.js';
import { matchesLabels, parseLabelSelector, type LabelSelector } from './apiserver/selectors.js';
import type { ChangeRecord } from './apiserver/store.js';
import type { SimClock } from './clock.js';
import { WATCHED_RESOURCES } from '../triggers/sources.js';

export type Publish = (event: CloudEventV1<unknown>) => void;

/** A resource an ApiServerSource watches (spec.resources[]). */
export interface WatchedResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly selector?: string;
}

export interface ApiServerSourceOptions {
  readonly cluster: Cluster;
  readonly resources: readonly WatchedResource[];
  /** Namespaces to watch; empty means all (spec.namespaceSelector matching every namespace). */
  readonly namespaces?: readonly string[];
  readonly sourceUrl: string;
  readonly publish: Publish;
}

const TYPE_OF: Record<ChangeRecord['type'], string> = {
  ADDED: EVENT_TYPES.apiServerAdd,
  MODIFIED: EVENT_TYPES.apiServerUpdate,
  DELETED: EVENT_TYPES.apiServerDelete,
};

/**
 * What Knative's ApiServerSource (mode: Resource) delivers: one CloudEvent per change of a watched
 * kind, `data` the whole object, extensions kind/name/namespace/apiversion, subject the object path.
 */
export function startApiServerSource(options: ApiServerSourceOptions): () => void {
  const { cluster } = options;
  const watched: {
    storage: string;
    kind: string;
    apiVersion: string;
    selector: LabelSelector | undefined;
  }[] = [];
  const refresh = () => {
    watched.length = 0;
    for (const r of options.resources) {
      const type = cluster.registry.findKind(r.apiVersion, r.kind);
      if (type)
        watched.push({
          storage: type.storage,
          kind: r.kind,
          apiVersion: apiVersionOf(type),
          selector: r.selector ? parseLabelSelector(r.selector) : undefined,
        });
    }
  };
  refresh();
  const namespaces = new Set(options.namespaces ?? []);
  return cluster.store.subscribe((change) => {
    if (watched.length < options.resources.length) refresh(); // a CRD may have been installed since
    const w = watched.find((x) => x.storage === change.storage);
    if (!w) return;
    const o = change.object;
    const ns = o.metadata.namespace;
    if (namespaces.size > 0 && (ns === undefined || !namespaces.has(ns))) return;
    if (w.selector && !matchesLabels(w.selector, o.metadata.labels)) return;
    const plural = cluster.registry.findKind(w.apiVersion, w.kind)?.resource ?? `${w.kind.toLowerCase()}s`;
    const base = w.apiVersion.includes('/') ? `/apis/${w.apiVersion}` : `/api/${w.apiVersion}`;
    const subject = ns
      ? `${base}/namespaces/${ns}/${plural}/${o.metadata.name}`
      : `${base}/${plural}/${o.metadata.name}`;
    options.publish(
      new CloudEvent<unknown>({
        specversion: '1.0',
        id: `${o.metadata.uid ?? o.metadata.name}.${change.rv}`,
        type: TYPE_OF[change.type],
        source: options.sourceUrl,
        subject,
        time: cluster.now().toISOString(),
        datacontenttype: 'application/json',
        data: { ...o, apiVersion: w.apiVersion, kind: w.kind },
        kind: w.kind,
        name: o.metadata.name,
        apiversion: w.apiVersion,
        ...(ns ? { namespace: ns } : {}),
      }),
    );
  });
}

export interface PingSourceOptions {
  readonly clock: SimClock;
  readonly everyMs: number;
  readonly source: string;
  readonly data?: unknown;
  readonly publish: Publish;
}

/** What Knative's PingSource delivers, on the simulated clock: a tick every `everyMs`. */
export function createPingSource(options: PingSourceOptions): { onTick(): void } {
  let next = options.clock.epochMs + options.everyMs;
  let seq = 0;
  return {
    onTick() {
      while (options.clock.epochMs >= next) {
        options.publish(
          new CloudEvent<unknown>({
            specversion: '1.0',
            id: `ping-${next}-${seq++}`,
            type: EVENT_TYPES.ping,
            source: options.source,
            time: new Date(next).toISOString(),
            datacontenttype: 'application/json',
            data: options.data ?? {},
          }),
        );
        next += options.everyMs;
      }
    },
  };
}

/** The kinds kurative's ApiServerSource watches: the one list in triggers/ (the chart renders it too). */
export const KURATIVE_WATCHED_RESOURCES: readonly WatchedResource[] = WATCHED_RESOURCES;
