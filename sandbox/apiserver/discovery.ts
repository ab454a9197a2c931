import { apiVersionOf, type ResourceRegistry, type ResourceType } from './resources.js';

const SUBRESOURCE_KIND: Record<string, { group: string; version: string; kind: string; verbs: string[] }> = {
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] },
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
  status: { group: '', version: '', kind: '', verbs: ['get', 'patch', 'update'] },
  log: { group: '', version: 'v1', kind: 'Pod', verbs: ['get'] },
  token: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] },
};

/** Legacy `/api` (APIVersions). kubectl falls back to legacy discovery without error. */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

/** Legacy `/apis` (APIGroupList). */
export function apiGroupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [...registry.groups()].filter(([g]) => g !== '').map(([g, vs]) => groupEntry(g, vs));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: ResourceRegistry, group: string): Record<string, unknown> | undefined {
  const versions = registry.groups().get(group);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group, versions) } : undefined;
}

/** `/api/v1` or `/apis/<g>/<v>` (APIResourceList), subresources as `pods/eviction` entries with group/version. */
export function apiResourceList(
  registry: ResourceRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const types = registry.all().filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const t of types) {
    resources.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories?.length ? { categories: t.categories } : {}),
    });
    for (const sub of t.subresources) resources.push(subresourceEntry(t, sub));
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group, version }),
    resources,
  };
}

function subresourceEntry(t: ResourceType, sub: string): Record<string, unknown> {
  const info = SUBRESOURCE_KIND[sub] ?? { group: '', version: '', kind: t.kind, verbs: ['get'] };
  const kind = info.kind || t.kind;
  const g = info.kind ? info.group : t.group;
  const v = info.kind ? info.version : t.version;
  return {
    name: `${t.resource}/${sub}`,
    singularName: '',
    namespaced: t.namespaced,
    group: g,
    version: v,
    kind,
    verbs: info.verbs,
  };
}

/**
 * Minimal OpenAPI v3 index and per-group-version documents: one PATCH operation per kind with
 * `x-kubernetes-group-version-kind` and a `fieldValidation` parameter, which is what kubectl's
 * strict validation needs before it hands validation to the server.
 */
export function openApiIndex(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groups()) {
    for (const v of versions) {
      const key = group === '' ? `api/${v}` : `apis/${group}/${v}`;
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(registry, group, v)}` };
    }
  }
  return { paths };
}

export function openApiDocument(
  registry: ResourceRegistry,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const types = registry.all().filter((t) => t.group === group && t.version === version && !t.readOnly);
  if (types.length === 0 && !registry.groups().get(group)?.includes(version)) return undefined;
  const paths: Record<string, unknown> = {};
  for (const t of types) {
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const path = t.namespaced
      ? `${base}/namespaces/{namespace}/${t.resource}/{name}`
      : `${base}/${t.resource}/{name}`;
    paths[path] = {
      patch: {
        operationId: `patch${t.kind}`,
        parameters: [{ name: 'fieldValidation', in: 'query', schema: { type: 'string' } }],
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group, version, kind: t.kind },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.34.0' }, paths };
}

function hashOf(registry: ResourceRegistry, group: string, version: string): string {
  const names = registry
    .all()
    .filter((t) => t.group === group && t.version === version)
    .map((t) => t.kind)
    .join(',');
  let h = 0;
  for (const ch of names) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).toUpperCase();
}
