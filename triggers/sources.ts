import { KURATIVE_API_VERSION } from '../shared/contracts/index.js';

/** A resource kurative's ApiServerSource watches (spec.resources[] in Resource mode). */
export interface WatchedResource {
  readonly apiVersion: string;
  readonly kind: string;
  /** Plural resource name, for the source's RBAC rule. */
  readonly resource: string;
  /** Cluster-scoped kinds are watched whatever namespaces are selected. */
  readonly clusterScoped?: boolean;
  readonly selector?: string;
}

/**
 * What the ApiServerSource delivers to the broker: the only list, rendered into the Helm chart's
 * ApiServerSource and its ClusterRole, and used by the sandbox's source adapter.
 */
export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  { apiVersion: 'v1', kind: 'Event', resource: 'events' },
  { apiVersion: 'v1', kind: 'Pod', resource: 'pods' },
  { apiVersion: 'v1', kind: 'Node', resource: 'nodes', clusterScoped: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments' },
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', resource: 'replicasets' },
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps' },
  { apiVersion: KURATIVE_API_VERSION, kind: 'Incident', resource: 'incidents', clusterScoped: true },
];

/** The PingSource that drives scrape (and act's verification). */
export const SCRAPE_PING = {
  name: 'kurative-scrape',
  schedule: '* * * * *',
  contentType: 'application/json',
  data: '{}',
} as const;
