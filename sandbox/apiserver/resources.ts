/** A column of `kubectl get` output (server-side Table). */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

/** One served resource: where it lives in the API and how it behaves. */
export interface ResourceType {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly kind: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
  readonly subresources: readonly string[];
  /** Objects of several served resources may share one storage (core and events.k8s.io Events). */
  readonly storage: string;
  readonly readOnly?: boolean;
  readonly printerColumns?: readonly PrinterColumn[];
  /** OpenAPI v3 schema (custom resources) used to validate writes. */
  readonly schema?: unknown;
  readonly categories?: readonly string[];
}

export const ALL_VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

function rt(
  group: string,
  version: string,
  resource: string,
  kind: string,
  namespaced: boolean,
  shortNames: string[],
  subresources: string[] = [],
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    version,
    resource,
    kind,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames,
    verbs: ALL_VERBS,
    subresources,
    storage: `${group}/${resource}`,
    ...extra,
  };
}

/** The built-in resources the sandbox serves. */
export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  rt('', 'v1', 'namespaces', 'Namespace', false, ['ns'], ['status']),
  rt('', 'v1', 'pods', 'Pod', true, ['po'], ['status', 'eviction', 'log'], { categories: ['all'] }),
  rt('', 'v1', 'nodes', 'Node', false, ['no'], ['status']),
  rt('', 'v1', 'events', 'Event', true, ['ev']),
  rt('', 'v1', 'configmaps', 'ConfigMap', true, ['cm']),
  rt('', 'v1', 'secrets', 'Secret', true, []),
  rt('', 'v1', 'services', 'Service', true, ['svc'], ['status'], { categories: ['all'] }),
  rt('', 'v1', 'serviceaccounts', 'ServiceAccount', true, ['sa'], ['token']),
  rt('', 'v1', 'resourcequotas', 'ResourceQuota', true, ['quota'], ['status']),
  rt('', 'v1', 'limitranges', 'LimitRange', true, ['limits']),
  rt('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, ['pvc'], ['status']),
  rt('events.k8s.io', 'v1', 'events', 'Event', true, ['ev'], [], { storage: '/events' }),
  rt('apps', 'v1', 'deployments', 'Deployment', true, ['deploy'], ['scale', 'status'], {
    categories: ['all'],
  }),
  rt('apps', 'v1', 'replicasets', 'ReplicaSet', true, ['rs'], ['scale', 'status'], { categories: ['all'] }),
  rt('apps', 'v1', 'statefulsets', 'StatefulSet', true, ['sts'], ['scale', 'status'], {
    categories: ['all'],
  }),
  rt('apps', 'v1', 'daemonsets', 'DaemonSet', true, ['ds'], ['status'], { categories: ['all'] }),
  rt('apps', 'v1', 'controllerrevisions', 'ControllerRevision', true, [], []),
  rt('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa'], ['status'], {
    categories: ['all'],
  }),
  rt('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'], ['status']),
  rt('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', true, ['netpol']),
  rt('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false, ['sc']),
  rt('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true, []),
  rt('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false, []),
  rt('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true, []),
  rt('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false, []),
  rt(
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions',
    'CustomResourceDefinition',
    false,
    ['crd', 'crds'],
    ['status'],
  ),
  rt('metrics.k8s.io', 'v1beta1', 'pods', 'PodMetrics', true, [], [], {
    verbs: ['get', 'list'],
    readOnly: true,
    storage: 'metrics.k8s.io/pods',
  }),
  rt('metrics.k8s.io', 'v1beta1', 'nodes', 'NodeMetrics', false, [], [], {
    verbs: ['get', 'list'],
    readOnly: true,
    storage: 'metrics.k8s.io/nodes',
  }),
];

/** apiVersion string of a group/version ("v1" for the core group). */
export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** Lookup table of served resources, extended at run time by CRDs. */
export class ResourceRegistry {
  private readonly byPath = new Map<string, ResourceType>();

  constructor(types: readonly ResourceType[] = BUILTIN_RESOURCES) {
    for (const t of types) this.add(t);
  }

  add(type: ResourceType): void {
    this.byPath.set(`${type.group}/${type.version}/${type.resource}`, type);
  }

  removeGroupResource(group: string, resource: string): void {
    for (const [key, t] of this.byPath)
      if (t.group === group && t.resource === resource) this.byPath.delete(key);
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byPath.get(`${group}/${version}/${resource}`);
  }

  /** The type serving a kind in an apiVersion (for ownerReferences and kubectl-style lookups). */
  findKind(apiVersion: string, kind: string): ResourceType | undefined {
    for (const t of this.byPath.values()) if (apiVersionOf(t) === apiVersion && t.kind === kind) return t;
    return undefined;
  }

  /** The preferred (first registered) type for a storage key. */
  byStorage(storage: string): ResourceType | undefined {
    for (const t of this.byPath.values()) if (t.storage === storage) return t;
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.byPath.values()];
  }

  /** Group → versions in registration order (first = preferred). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.byPath.values()) {
      const versions = out.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      out.set(t.group, versions);
    }
    return out;
  }
}
