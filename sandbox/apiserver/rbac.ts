import type { Cluster } from './cluster.js';
import type { KubeObject } from './types.js';

/** Who a request is from (after bearer-token authentication). */
export interface UserInfo {
  readonly username: string;
  readonly groups: readonly string[];
}

/** What a request wants to do, in RBAC terms (k8s.io/apiserver authorizer.Attributes). */
export interface RequestAttributes {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly nonResourcePath?: string;
}

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

const has = (list: readonly string[] | undefined, value: string) =>
  (list ?? []).some((x) => x === '*' || x === value);

function ruleAllows(rule: PolicyRule, a: RequestAttributes): boolean {
  if (a.nonResourcePath !== undefined) {
    return (
      has(rule.verbs, a.verb) &&
      (rule.nonResourceURLs ?? []).some(
        (u) =>
          u === '*' ||
          u === a.nonResourcePath ||
          (u.endsWith('*') && a.nonResourcePath?.startsWith(u.slice(0, -1))),
      )
    );
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceOk = (rule.resources ?? []).some(
    (r) =>
      r === '*' ||
      r === resource ||
      (r === `*/${a.subresource}` && a.subresource !== '') ||
      (r === `${a.resource}/*` && a.subresource !== ''),
  );
  const namesOk =
    !rule.resourceNames?.length || (a.name !== undefined && rule.resourceNames.includes(a.name));
  return has(rule.verbs, a.verb) && has(rule.apiGroups, a.apiGroup) && resourceOk && namesOk;
}

function subjectMatches(subject: Subject, user: UserInfo): boolean {
  if (subject.kind === 'User') return subject.name === user.username;
  if (subject.kind === 'Group') return user.groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount')
    return user.username === `system:serviceaccount:${subject.namespace ?? ''}:${subject.name}`;
  return false;
}

/**
 * RBAC authorizer: allowed when a ClusterRoleBinding, or a RoleBinding in the request's namespace,
 * binds the user to a role with a matching rule. `system:masters` may do anything.
 */
export function authorize(cluster: Cluster, user: UserInfo, a: RequestAttributes): boolean {
  if (user.groups.includes('system:masters')) return true;
  // Discovery and version are open to every authenticated user (system:discovery).
  if (
    a.nonResourcePath !== undefined &&
    /^\/(api|apis|version|openapi|healthz|readyz|livez)(\/|$)/.test(a.nonResourcePath) &&
    a.verb === 'get'
  )
    return true;
  const rulesOf = (ref: { kind: string; name: string }, namespace: string | undefined): PolicyRule[] => {
    const role =
      ref.kind === 'ClusterRole'
        ? cluster.store.peek('rbac.authorization.k8s.io/clusterroles', undefined, ref.name)
        : cluster.store.peek('rbac.authorization.k8s.io/roles', namespace, ref.name);
    return (role?.['rules'] as PolicyRule[] | undefined) ?? [];
  };
  const check = (binding: KubeObject, namespace: string | undefined) => {
    const subjects = (binding['subjects'] as Subject[] | undefined) ?? [];
    if (!subjects.some((s) => subjectMatches(s, user))) return false;
    return rulesOf(binding['roleRef'] as { kind: string; name: string }, namespace).some((r) =>
      ruleAllows(r, a),
    );
  };
  for (const b of cluster.store.scan('rbac.authorization.k8s.io/clusterrolebindings'))
    if (check(b, undefined)) return true;
  if (a.namespace !== undefined) {
    for (const b of cluster.store.scan('rbac.authorization.k8s.io/rolebindings', a.namespace))
      if (check(b, a.namespace)) return true;
  }
  return false;
}

/** The message the real API server gives on 403. */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes): string {
  if (a.nonResourcePath !== undefined)
    return `forbidden: User "${user.username}" cannot ${a.verb} path "${a.nonResourcePath}"`;
  const res = `${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  const what = a.name ? `${res.split('/')[0]} "${a.name}"` : `resource "${res}"`;
  const group = `in API group "${a.apiGroup}"`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${what} is forbidden: User "${user.username}" cannot ${a.verb} ${a.name ? `resource "${res}" ` : ''}${group} ${scope}`;
}
