import { EVENT_TYPES, type FunctionName } from '../shared/contracts/index.js';

/**
 * One route: events whose attributes equal every entry of `filter` go to `function`.
 * This is the only routing table: Knative Triggers, OpenFaaS topics and the dev broker derive from it.
 * Filters are exact attribute matches, as Knative Trigger `spec.filter.attributes` are.
 */
export interface Route {
  readonly name: string;
  readonly function: FunctionName;
  readonly filter: Readonly<Record<string, string>>;
}

export const ROUTES: readonly Route[] = [
  { name: 'scrape-on-ping', function: 'scrape', filter: { type: EVENT_TYPES.ping } },
  { name: 'score-metrics', function: 'score', filter: { type: EVENT_TYPES.metrics } },
  { name: 'score-event-add', function: 'score', filter: { type: EVENT_TYPES.apiServerAdd, kind: 'Event' } },
  {
    name: 'score-event-update',
    function: 'score',
    filter: { type: EVENT_TYPES.apiServerUpdate, kind: 'Event' },
  },
  { name: 'score-pod-update', function: 'score', filter: { type: EVENT_TYPES.apiServerUpdate, kind: 'Pod' } },
  {
    name: 'score-node-update',
    function: 'score',
    filter: { type: EVENT_TYPES.apiServerUpdate, kind: 'Node' },
  },
  { name: 'rca-anomaly', function: 'rca', filter: { type: EVENT_TYPES.anomaly } },
  {
    name: 'rca-configmap-change',
    function: 'rca',
    filter: { type: EVENT_TYPES.apiServerUpdate, kind: 'ConfigMap' },
  },
  // A ConfigMap deleted: pods that start after it cannot (CreateContainerConfigError).
  {
    name: 'rca-configmap-delete',
    function: 'rca',
    filter: { type: EVENT_TYPES.apiServerDelete, kind: 'ConfigMap' },
  },
  // Replica counts: a workload scaled down (to zero) just before its service fails is the change.
  {
    name: 'rca-deployment-change',
    function: 'rca',
    filter: { type: EVENT_TYPES.apiServerUpdate, kind: 'Deployment' },
  },
  { name: 'policy-diagnosis', function: 'policy', filter: { type: EVENT_TYPES.diagnosis } },
  { name: 'policy-remediation', function: 'policy', filter: { type: EVENT_TYPES.remediation } },
  {
    name: 'policy-incident-approval',
    function: 'policy',
    filter: { type: EVENT_TYPES.apiServerUpdate, kind: 'Incident' },
  },
  { name: 'act-verify-on-tick', function: 'act', filter: { type: EVENT_TYPES.tick } },
  // Decides incidents that settled (group wait), and retries lifted denials, while any is open.
  { name: 'policy-settle-on-tick', function: 'policy', filter: { type: EVENT_TYPES.tick } },
  {
    name: 'act-approved-decision',
    function: 'act',
    filter: { type: EVENT_TYPES.decision, verdict: 'approved' },
  },
];

/** True when every filter attribute equals the event's attribute of the same name. */
export function matchesRoute(route: Route, attributes: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(route.filter).every(([k, v]) => attributes[k] === v);
}

/** The routes an event with these attributes is delivered on. */
export function routesFor(
  attributes: Readonly<Record<string, unknown>>,
  routes: readonly Route[] = ROUTES,
): Route[] {
  return routes.filter((r) => matchesRoute(r, attributes));
}

/** Event types each function accepts, derived from the routes. */
export function acceptedTypes(fn: FunctionName, routes: readonly Route[] = ROUTES): string[] {
  return [...new Set(routes.filter((r) => r.function === fn).map((r) => r.filter['type'] ?? ''))].filter(
    Boolean,
  );
}
