import type { FunctionName } from '../shared/contracts/index.js';
import { WATCHED_RESOURCES } from './sources.js';

/** One RBAC policy rule (rbac.authorization.k8s.io/v1 PolicyRule). */
export interface Rule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

const READ = ['get', 'list'] as const;
const rule = (apiGroups: string[], resources: string[], verbs: readonly string[]): Rule => ({
  apiGroups,
  resources,
  verbs,
});
const KURATIVE = 'kurative.dev';
/** Every function may record what it did as an Event (core and events.k8s.io). */
const EVENTS = rule([''], ['events'], ['create', 'patch']);

/**
 * Least privilege, per function: what each one's code calls and nothing more. Only act may change
 * pods, nodes, workloads and NetworkPolicies, and only with the verbs its actions need; scrape,
 * score and rca only read the cluster (rca and policy write kurative's own Incidents).
 * The Helm chart's ClusterRoles are rendered from this table, and the sandbox enforces it in tests.
 */
export const PERMISSIONS: Record<FunctionName, readonly Rule[]> = {
  scrape: [
    rule([''], ['pods', 'nodes'], READ),
    rule(['metrics.k8s.io'], ['pods', 'nodes'], READ),
    rule([KURATIVE], ['detectors'], READ),
    // patch: records a PromQL Detector's warm start (status.backfill), so it runs once.
    rule([KURATIVE], ['detectors/status'], ['patch']),
    // list: whether any Incident is still open (act's follow-up tick).
    rule([KURATIVE], ['incidents'], ['list']),
  ],
  score: [rule([KURATIVE], ['detectors'], READ), rule([KURATIVE], ['detectors/status'], ['patch'])],
  rca: [
    rule([''], ['pods', 'nodes', 'services', 'configmaps'], READ),
    // replicasets, controllerrevisions: rollouts, and what they changed.
    rule(['apps'], ['deployments', 'replicasets', 'statefulsets', 'daemonsets', 'controllerrevisions'], READ),
    rule(['autoscaling'], ['horizontalpodautoscalers'], READ),
    // Whether a workload's pods run at their CPU limit (throttled).
    rule(['metrics.k8s.io'], ['pods'], ['list']),
    rule([KURATIVE], ['incidents'], ['get', 'list', 'create']),
    rule([KURATIVE], ['incidents/status'], ['get', 'patch']),
    EVENTS,
  ],
  policy: [
    rule([''], ['pods', 'nodes', 'namespaces', 'configmaps', 'persistentvolumeclaims'], READ),
    // Whether a claim's StorageClass allows volume expansion.
    rule(['storage.k8s.io'], ['storageclasses'], ['get']),
    // replicasets, controllerrevisions: whether there is a revision to roll back to.
    rule(['apps'], ['deployments', 'replicasets', 'statefulsets', 'daemonsets', 'controllerrevisions'], READ),
    // Scaling is left to an autoscaler that owns the replica count.
    rule(['autoscaling'], ['horizontalpodautoscalers'], READ),
    rule([KURATIVE], ['remediationpolicies'], READ),
    rule([KURATIVE], ['remediationpolicies/status'], ['patch']),
    // patch: consuming the approve/reject annotations.
    rule([KURATIVE], ['incidents'], ['get', 'list', 'patch']),
    rule([KURATIVE], ['incidents/status'], ['get', 'patch']),
    EVENTS,
  ],
  act: [
    // patch pods: the quarantine label; eviction: restart, move off a node, drain; delete: a
    // StatefulSet's forced rollback (its pods of the bad revision that never become Ready).
    rule([''], ['pods'], ['get', 'list', 'patch', 'delete']),
    rule([''], ['pods/eviction'], ['create']),
    rule([''], ['nodes'], ['get', 'patch']),
    // update: a rollback writes the previous template back (as kubectl rollout undo).
    rule(['apps'], ['deployments', 'statefulsets', 'daemonsets'], ['get', 'list', 'patch', 'update']),
    rule(['apps'], ['deployments/scale', 'statefulsets/scale'], ['get', 'patch']),
    rule(['apps'], ['replicasets', 'controllerrevisions'], READ),
    rule(['networking.k8s.io'], ['networkpolicies'], ['create']),
    // patch persistentvolumeclaims: a volume expansion raises the claim's requested size.
    rule([''], ['persistentvolumeclaims'], ['get', 'patch']),
    rule(['storage.k8s.io'], ['storageclasses'], ['get']),
    // list: incidents whose symptoms stopped without action are closed on the schedule.
    rule([KURATIVE], ['incidents'], ['get', 'list']),
    rule([KURATIVE], ['incidents/status'], ['get', 'patch']),
    EVENTS,
  ],
};

/** The ConfigMap store: state in kurative's own namespace only (a Role there, not cluster-wide). */
export const STORE_RULES: readonly Rule[] = [
  rule([''], ['configmaps'], ['get', 'list', 'create', 'update', 'patch', 'delete']),
];

/** The ApiServerSource's service account: get/list/watch on what it watches, nothing else. */
export function sourceRules(): Rule[] {
  const byGroup = new Map<string, string[]>();
  for (const r of WATCHED_RESOURCES) {
    const group = r.apiVersion.includes('/') ? (r.apiVersion.split('/')[0] ?? '') : '';
    byGroup.set(group, [...(byGroup.get(group) ?? []), r.resource]);
  }
  return [...byGroup].map(([group, resources]) => rule([group], resources, ['get', 'list', 'watch']));
}
