import { randomUUID } from 'node:crypto';
import {
  applyLimitRanges,
  checkClaimResize,
  checkQuotas,
  validateBuiltin,
  validateName,
} from './admission.js';
import { alreadyExists, ApiError, badRequest, conflict, invalid, notFound } from './errors.js';
import { jsonPatch, mergePatch, strategicMergePatch, type PatchType } from './patch.js';
import { apiVersionOf, ResourceRegistry, type PrinterColumn, type ResourceType } from './resources.js';
import { pruneUnknown, validateSchema, type OpenApiSchema } from './schema.js';
import {
  matchesFields,
  matchesLabels,
  selectorFromObject,
  type FieldSelector,
  type LabelSelector,
} from './selectors.js';
import { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';
import { fromEventsV1, toEventsV1 } from './events-view.js';

export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly subresource?: string;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: LabelSelector;
  readonly fieldSelector?: FieldSelector;
}

export interface DeleteOptions {
  readonly dryRun?: boolean;
  readonly propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  readonly preconditions?: { uid?: string; resourceVersion?: string };
}

/** Supplies metrics.k8s.io objects (the simulator's kubelet summary). */
export type MetricsProvider = (resource: 'pods' | 'nodes', namespace: string | undefined) => KubeObject[];

const WITH_STATUS_SUBRESOURCE = (t: ResourceType) => t.subresources.includes('status');

/**
 * The API server's semantics over the object store: defaulting, validation, admission (LimitRange,
 * ResourceQuota), optimistic concurrency, generation, patches, dry-run, garbage collection, CRDs.
 * The HTTP layer and the in-process simulator controllers both go through it, so both see the
 * same rules and both trigger watches.
 */
export class Cluster {
  readonly store = new ObjectStore();
  readonly registry = new ResourceRegistry();
  metrics: MetricsProvider = () => [];

  /**
   * @param now the clock (the simulator's, accelerated)
   * @param random source of uids and generated names; seeded in the simulator so runs repeat exactly
   */
  constructor(
    readonly now: () => Date = () => new Date(),
    private readonly random: () => number = Math.random,
  ) {}

  type(group: string, version: string, resource: string): ResourceType {
    const t = this.registry.find(group, version, resource);
    if (!t) throw new ApiError(404, 'the server could not find the requested resource', 'NotFound');
    return t;
  }

  /** Shorthand for built-in types by kind, e.g. `cluster.kind('apps/v1', 'Deployment')`. */
  kind(apiVersion: string, kind: string): ResourceType {
    const t = this.registry.findKind(apiVersion, kind);
    if (!t) throw new ApiError(404, `no kind ${kind} in ${apiVersion}`, 'NotFound');
    return t;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    if (type.readOnly) {
      const found = this.metrics(type.resource as 'pods' | 'nodes', namespace).find(
        (o) => o.metadata.name === name,
      );
      if (!found) throw notFound(`${type.resource}.${type.group}`, name);
      return found;
    }
    const o = this.store.get(type.storage, type.namespaced ? namespace : undefined, name);
    if (!o) throw notFound(type.resource, name, type.group);
    return this.view(type, o);
  }

  tryGet(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.store.get(type.storage, type.namespaced ? namespace : undefined, name);
    return o ? this.view(type, o) : undefined;
  }

  list(type: ResourceType, options: ListOptions = {}): KubeObject[] {
    return this.listing(type, options, true);
  }

  /**
   * The same objects as `list`, not copied: for a caller that only serialises them at once (the HTTP
   * layer: a page of a 10 000-pod list must not copy all 10 000). Callers must not mutate them.
   */
  listShared(type: ResourceType, options: ListOptions = {}): readonly KubeObject[] {
    return this.listing(type, options, false);
  }

  private listing(type: ResourceType, options: ListOptions, copy: boolean): KubeObject[] {
    const ns = type.namespaced ? options.namespace : undefined;
    const source = type.readOnly
      ? this.metrics(type.resource as 'pods' | 'nodes', ns)
      : copy
        ? this.store.list(type.storage, ns)
        : this.store.scan(type.storage, ns);
    const items = source.map((o) => this.view(type, o)).filter((o) => this.matches(o, options));
    items.sort(
      (a, b) =>
        (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
    return items;
  }

  matches(o: KubeObject, options: ListOptions): boolean {
    return (
      (!options.labelSelector || matchesLabels(options.labelSelector, o.metadata.labels)) &&
      (!options.fieldSelector || matchesFields(options.fieldSelector, o))
    );
  }

  /** Present a stored object as the served type (apiVersion, and the events.k8s.io view). */
  view(type: ResourceType, stored: KubeObject): KubeObject {
    if (type.group === 'events.k8s.io') return toEventsV1(stored);
    return { ...stored, apiVersion: apiVersionOf(type), kind: type.kind };
  }

  create(type: ResourceType, input: KubeObject, options: WriteOptions = {}, namespace?: string): KubeObject {
    this.writable(type);
    let object = structuredClone(input);
    if (type.group === 'events.k8s.io') object = fromEventsV1(object);
    object.metadata ??= { name: '' };
    object.apiVersion = type.group === 'events.k8s.io' ? 'v1' : apiVersionOf(type);
    object.kind = type.kind;
    if (type.namespaced) {
      const ns = namespace ?? object.metadata.namespace ?? 'default';
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      object.metadata.namespace = ns;
      if (!this.store.peek('/namespaces', undefined, ns)) throw notFound('namespaces', ns);
      if (this.store.peek('/namespaces', undefined, ns)?.metadata.deletionTimestamp) {
        throw new ApiError(
          403,
          `${type.resource} "${object.metadata.name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
          'Forbidden',
        );
      }
    } else {
      delete object.metadata.namespace;
    }
    if (!object.metadata.name && object.metadata.generateName) {
      object.metadata.name = `${object.metadata.generateName}${randomSuffix(this.random)}`;
    }
    if (!object.metadata.name)
      throw invalid(type.kind, '', [
        {
          field: 'metadata.name',
          message: 'Required value: name or generateName is required',
          reason: 'FieldValueRequired',
        },
      ]);
    validateName(type.kind, object.metadata.name);
    if (this.store.peek(type.storage, object.metadata.namespace, object.metadata.name)) {
      throw alreadyExists(type.resource, object.metadata.name, type.group);
    }
    object.metadata.uid = uuidFrom(this.random);
    object.metadata.creationTimestamp = this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    object.metadata.generation = 1;
    delete object.metadata.resourceVersion;
    delete object.metadata.deletionTimestamp;
    this.defaults(type, object);
    this.admit(type, object, undefined);
    if (options.dryRun)
      return this.view(type, {
        ...object,
        metadata: { ...object.metadata, resourceVersion: String(this.store.resourceVersion) },
      });
    const stored = this.store.put(type.storage, object);
    this.afterWrite(type, stored, undefined);
    return this.view(type, stored);
  }

  /** PUT semantics: optimistic concurrency on resourceVersion; the status subresource owns status. */
  update(type: ResourceType, input: KubeObject, options: WriteOptions = {}, namespace?: string): KubeObject {
    this.writable(type);
    let object = structuredClone(input);
    if (type.group === 'events.k8s.io') object = fromEventsV1(object);
    const ns = type.namespaced ? (namespace ?? object.metadata?.namespace ?? 'default') : undefined;
    const name = object.metadata?.name;
    if (!name)
      throw invalid(type.kind, '', [
        { field: 'metadata.name', message: 'Required value', reason: 'FieldValueRequired' },
      ]);
    const current = this.store.get(type.storage, ns, name);
    if (!current) throw notFound(type.resource, name, type.group);
    if (
      object.metadata.resourceVersion &&
      object.metadata.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw conflict(type.resource, name, type.group);
    }
    const next = this.mergeForUpdate(type, current, object, options.subresource);
    this.admit(type, next, current);
    if (options.dryRun) return this.view(type, next);
    if (JSON.stringify(next) === JSON.stringify(current)) return this.view(type, current);
    const stored = this.store.put(type.storage, next);
    this.afterWrite(type, stored, current);
    return this.view(type, stored);
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: unknown,
    options: WriteOptions & { force?: boolean } = {},
  ): { object: KubeObject; created: boolean } {
    this.writable(type);
    const current = this.tryGet(type, namespace, name);
    if (!current) {
      if (patchType !== 'apply' || options.subresource) throw notFound(type.resource, name, type.group);
      const applied = body as KubeObject;
      return {
        object: this.create(
          type,
          { ...applied, metadata: { ...applied.metadata, name } },
          options,
          namespace,
        ),
        created: true,
      };
    }
    let patched: unknown;
    if (patchType === 'json') patched = jsonPatch(current, body);
    else if (patchType === 'strategic') {
      if (
        type.group !== '' &&
        ![
          'apps',
          'policy',
          'networking.k8s.io',
          'autoscaling',
          'rbac.authorization.k8s.io',
          'apiextensions.k8s.io',
          'events.k8s.io',
        ].includes(type.group)
      ) {
        throw new ApiError(
          415,
          'strategic merge patch is not supported for custom resources',
          'UnsupportedMediaType',
        );
      }
      patched = strategicMergePatch(current, body);
    } else if (patchType === 'apply')
      patched =
        type.group === '' || type.group === 'apps'
          ? strategicMergePatch(current, body)
          : mergePatch(current, body);
    else patched = mergePatch(current, body);
    const next = patched as KubeObject;
    if (typeof next !== 'object' || next === null) throw badRequest('patch produced a non-object');
    // A patch that carries no resourceVersion applies to whatever is current.
    const bodyRv = (body as { metadata?: { resourceVersion?: string } } | null)?.metadata?.resourceVersion;
    next.metadata = { ...next.metadata, resourceVersion: bodyRv ?? current.metadata.resourceVersion ?? '' };
    return { object: this.update(type, next, options, namespace), created: false };
  }

  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): KubeObject {
    this.writable(type);
    const ns = type.namespaced ? namespace : undefined;
    const current = this.store.get(type.storage, ns, name);
    if (!current) throw notFound(type.resource, name, type.group);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw new ApiError(
        409,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
        'Conflict',
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion)
      throw conflict(type.resource, name, type.group);
    if (options.dryRun) return this.view(type, current);
    const gone = this.store.remove(type.storage, ns, name);
    if (!gone) throw notFound(type.resource, name, type.group);
    this.afterDelete(type, gone, options.propagationPolicy ?? 'Background');
    return this.view(type, gone);
  }

  /** Every object that lists `uid` among its ownerReferences. */
  dependents(uid: string): { type: ResourceType; object: KubeObject }[] {
    const out: { type: ResourceType; object: KubeObject }[] = [];
    const seen = new Set<string>();
    for (const type of this.registry.all()) {
      if (type.readOnly || seen.has(type.storage)) continue;
      seen.add(type.storage);
      for (const o of this.store.scan(type.storage)) {
        if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push({ type, object: o });
      }
    }
    return out;
  }

  private writable(type: ResourceType): void {
    if (type.readOnly)
      throw new ApiError(
        405,
        `the server does not allow this method on the requested resource`,
        'MethodNotAllowed',
      );
  }

  private mergeForUpdate(
    type: ResourceType,
    current: KubeObject,
    object: KubeObject,
    subresource: string | undefined,
  ): KubeObject {
    const next: KubeObject = { ...object, apiVersion: current.apiVersion, kind: current.kind };
    next.metadata = {
      ...object.metadata,
      name: current.metadata.name,
      uid: current.metadata.uid ?? '',
      creationTimestamp: current.metadata.creationTimestamp ?? '',
      resourceVersion: current.metadata.resourceVersion ?? '',
      generation: current.metadata.generation ?? 1,
    };
    if (current.metadata.namespace !== undefined) next.metadata.namespace = current.metadata.namespace;
    if (current.metadata.deletionTimestamp)
      next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    if (subresource === 'status') {
      // Only status changes through /status.
      return { ...current, status: object['status'] };
    }
    if (WITH_STATUS_SUBRESOURCE(type) || this.crdHasStatus(type)) next['status'] = current['status'];
    const specChanged = JSON.stringify(stripMeta(next)) !== JSON.stringify(stripMeta(current));
    if (specChanged && type.kind !== 'Pod' && type.kind !== 'Node')
      next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    return next;
  }

  private crdHasStatus(type: ResourceType): boolean {
    return type.group !== '' && !type.storage.startsWith('/') && type.subresources.includes('status');
  }

  private defaults(type: ResourceType, object: KubeObject): void {
    const defaulter = DEFAULTERS[type.kind];
    if (defaulter) defaulter(object, (object['spec'] ??= {}) as Record<string, unknown>);
  }

  private admit(type: ResourceType, object: KubeObject, current: KubeObject | undefined): void {
    if (type.storage.startsWith('/') || BUILTIN_GROUPS.has(type.group)) validateBuiltin(object);
    if (type.schema) this.validateCustom(type, object);
    if (type.kind === 'CustomResourceDefinition') validateCrd(object);
    if (type.kind === 'PersistentVolumeClaim' && current)
      checkClaimResize(object, current, (name) =>
        this.store.peek('storage.k8s.io/storageclasses', undefined, name),
      );
    if (type.kind === 'Pod' && !current) {
      const ns = object.metadata.namespace;
      applyLimitRanges(object, this.store.scan('/limitranges', ns));
      const quotas = this.store.scan('/resourcequotas', ns);
      if (quotas.length > 0) checkQuotas(object, quotas, this.store.scan('/pods', ns));
      object['status'] = { ...(object['status'] as object), qosClass: qosClass(object) };
    }
  }

  private validateCustom(type: ResourceType, object: KubeObject): void {
    const schema = type.schema as OpenApiSchema;
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = object;
    const pruned = pruneUnknown(rest, schema) as Record<string, unknown>;
    for (const k of Object.keys(rest)) delete object[k];
    Object.assign(object, pruned);
    const causes = validateSchema(pruned, {
      ...schema,
      required: schema.required?.filter((r) => !['apiVersion', 'kind', 'metadata'].includes(r)),
    });
    if (causes.length > 0) throw invalid(type.kind, object.metadata.name, causes);
  }

  private afterWrite(type: ResourceType, stored: KubeObject, previous: KubeObject | undefined): void {
    if (type.kind === 'CustomResourceDefinition') this.registerCrd(stored, previous);
  }

  private afterDelete(
    type: ResourceType,
    gone: KubeObject,
    propagation: 'Background' | 'Foreground' | 'Orphan',
  ): void {
    if (type.kind === 'CustomResourceDefinition') this.unregisterCrd(gone);
    if (type.kind === 'Namespace') {
      for (const t of this.registry.all()) {
        if (!t.namespaced || t.readOnly) continue;
        for (const o of this.store.scan(t.storage, gone.metadata.name))
          this.store.remove(t.storage, o.metadata.namespace, o.metadata.name);
      }
    }
    const uid = gone.metadata.uid;
    if (!uid) return;
    for (const dep of this.dependents(uid)) {
      if (propagation === 'Orphan') {
        const copy = structuredClone(dep.object);
        copy.metadata.ownerReferences = (copy.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
        this.store.put(dep.type.storage, copy);
      } else if (this.store.peek(dep.type.storage, dep.object.metadata.namespace, dep.object.metadata.name)) {
        // Garbage collection: the dependent loses its owner, so it goes too (and its own dependents after it).
        this.delete(dep.type, dep.object.metadata.namespace, dep.object.metadata.name, {
          propagationPolicy: 'Background',
        });
      }
    }
  }

  private registerCrd(crd: KubeObject, previous: KubeObject | undefined): void {
    if (previous) this.unregisterCrd(previous, false);
    const spec = crd['spec'] as CrdSpec;
    for (const v of spec.versions.filter((x) => x.served !== false)) {
      this.registry.add({
        group: spec.group,
        version: v.name,
        resource: spec.names.plural,
        kind: spec.names.kind,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
        namespaced: spec.scope === 'Namespaced',
        shortNames: spec.names.shortNames ?? [],
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        subresources: [
          ...(v.subresources?.status ? ['status'] : []),
          ...(v.subresources?.scale ? ['scale'] : []),
        ],
        storage: `${spec.group}/${spec.names.plural}`,
        printerColumns: v.additionalPrinterColumns ?? [],
        schema: v.schema?.openAPIV3Schema,
        categories: spec.names.categories ?? [],
      });
    }
    // Established as soon as it is served, as kubectl waits for.
    const established = {
      ...crd,
      status: {
        conditions: [
          {
            type: 'NamesAccepted',
            status: 'True',
            reason: 'NoConflicts',
            message: 'no conflicts found',
            lastTransitionTime: this.now().toISOString(),
          },
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
            lastTransitionTime: this.now().toISOString(),
          },
        ],
        acceptedNames: spec.names,
        storedVersions: spec.versions.filter((x) => x.storage).map((x) => x.name),
      },
    };
    if (JSON.stringify(established['status']) !== JSON.stringify(crd['status'])) {
      const current = this.store.peek(
        'apiextensions.k8s.io/customresourcedefinitions',
        undefined,
        crd.metadata.name,
      );
      if (current)
        this.store.put('apiextensions.k8s.io/customresourcedefinitions', {
          ...structuredClone(current),
          status: established.status,
        });
    }
  }

  private unregisterCrd(crd: KubeObject, dropData = true): void {
    const spec = crd['spec'] as CrdSpec;
    this.registry.removeGroupResource(spec.group, spec.names.plural);
    if (dropData) {
      const storage = `${spec.group}/${spec.names.plural}`;
      for (const o of this.store.scan(storage))
        this.store.remove(storage, o.metadata.namespace, o.metadata.name);
    }
  }

  /** Label selector of a workload's `spec.selector`. */
  static selectorOf(object: KubeObject): LabelSelector {
    return selectorFromObject(
      (object['spec'] as { selector?: Parameters<typeof selectorFromObject>[0] } | undefined)?.selector,
    );
  }
}

/** Defaulting per kind (what the real API server's defaulters fill in). */
const DEFAULTERS: Record<string, (object: KubeObject, spec: Record<string, unknown>) => void> = {
  Pod: (object, spec) => {
    spec['restartPolicy'] ??= 'Always';
    spec['dnsPolicy'] ??= 'ClusterFirst';
    spec['terminationGracePeriodSeconds'] ??= 30;
    spec['schedulerName'] ??= 'default-scheduler';
    object['status'] = {
      phase: 'Pending',
      qosClass: 'BestEffort',
      ...(object['status'] as object | undefined),
    };
  },
  Deployment: (object, spec) => {
    spec['replicas'] ??= 1;
    spec['revisionHistoryLimit'] ??= 10;
    spec['progressDeadlineSeconds'] ??= 600;
    spec['strategy'] ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
    object['status'] ??= {};
  },
  ReplicaSet: (object, spec) => {
    spec['replicas'] ??= 1;
    object['status'] ??= { replicas: 0 };
  },
  StatefulSet: (object, spec) => {
    spec['replicas'] ??= 1;
    spec['revisionHistoryLimit'] ??= 10;
    spec['podManagementPolicy'] ??= 'OrderedReady';
    spec['updateStrategy'] ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
    object['status'] ??= { replicas: 0 };
  },
  DaemonSet: (object, spec) => {
    spec['revisionHistoryLimit'] ??= 10;
    spec['updateStrategy'] ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
    object['status'] ??= {};
  },
  Namespace: (object) => {
    delete object['spec'];
    object['status'] = { phase: 'Active' };
  },
  Node: (object) => {
    object['status'] ??= {};
  },
};

const BUILTIN_GROUPS = new Set([
  '',
  'apps',
  'policy',
  'autoscaling',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'events.k8s.io',
]);

interface CrdSpec {
  group: string;
  scope: 'Namespaced' | 'Cluster';
  names: {
    plural: string;
    singular?: string;
    kind: string;
    shortNames?: string[];
    categories?: string[];
    listKind?: string;
  };
  versions: {
    name: string;
    served?: boolean;
    storage?: boolean;
    schema?: { openAPIV3Schema?: unknown };
    subresources?: { status?: object; scale?: object };
    additionalPrinterColumns?: PrinterColumn[];
  }[];
}

function validateCrd(crd: KubeObject): void {
  const spec = crd['spec'] as Partial<CrdSpec> | undefined;
  const causes = [];
  if (!spec?.group)
    causes.push({ field: 'spec.group', message: 'Required value', reason: 'FieldValueRequired' });
  if (!spec?.names?.plural || !spec.names.kind)
    causes.push({
      field: 'spec.names',
      message: 'Required value: plural and kind',
      reason: 'FieldValueRequired',
    });
  if (!spec?.versions?.length)
    causes.push({ field: 'spec.versions', message: 'Required value', reason: 'FieldValueRequired' });
  if (spec?.scope !== 'Namespaced' && spec?.scope !== 'Cluster')
    causes.push({ field: 'spec.scope', message: 'Unsupported value', reason: 'FieldValueNotSupported' });
  if (spec?.group && spec.names?.plural && crd.metadata.name !== `${spec.names.plural}.${spec.group}`) {
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${crd.metadata.name}": must be spec.names.plural+"."+spec.group`,
    });
  }
  if (causes.length > 0) throw invalid('CustomResourceDefinition', crd.metadata.name, causes);
}

function stripMeta(o: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function qosClass(pod: KubeObject): string {
  const containers =
    (
      pod['spec'] as {
        containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[];
      }
    )?.containers ?? [];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const r = c.resources?.requests ?? {};
    const l = c.resources?.limits ?? {};
    if (Object.keys(r).length || Object.keys(l).length) any = true;
    for (const k of ['cpu', 'memory']) if (!l[k] || (r[k] !== undefined && r[k] !== l[k])) guaranteed = false;
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function randomSuffix(random: () => number): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
}

function uuidFrom(random: () => number): string {
  if (random === Math.random) return randomUUID();
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
