import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { Cluster, DeleteOptions } from './cluster.js';
import {
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiDocument,
  openApiIndex,
} from './discovery.js';
import { ApiError, badRequest, notFound } from './errors.js';
import { evictPod, pdbStatus } from './eviction.js';
import { patchTypeOf } from './patch.js';
import { authorize, forbiddenMessage, type RequestAttributes, type UserInfo } from './rbac.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import {
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  selectorToString,
  matchesFields,
  matchesLabels,
  type FieldSelector,
  type LabelSelector,
} from './selectors.js';
import type { ChangeRecord } from './store.js';
import { toTable } from './table.js';
import type { KubeObject } from './types.js';

/** One mutating request as the audit log records it. */
export interface AuditRecord {
  readonly at: string;
  readonly user: string;
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly dryRun: boolean;
  readonly code: number;
}

export interface ApiServerOptions {
  readonly cluster: Cluster;
  readonly tls: { key: string; cert: string };
  /** Pod log text for `pods/log` (the simulator supplies it). */
  readonly podLogs?: (namespace: string, name: string) => string;
}

interface Route {
  group: string;
  version: string;
  namespace: string | undefined;
  resource: string;
  name: string | undefined;
  subresource: string;
}

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const CHUNK_LIMIT_MAX = 10_000;

/**
 * The sandbox's Kubernetes API server: HTTPS, bearer-token authentication per user or service
 * account, RBAC, audit, discovery, OpenAPI, CRUD with selectors and pagination, watch, patches,
 * dry-run, Tables, and the eviction/scale/status/log/token subresources.
 */
export class ApiServer {
  readonly audit: AuditRecord[] = [];
  private readonly tokens = new Map<string, UserInfo>();
  private readonly server: Server;
  private readonly openWatches = new Set<ServerResponse>();
  readonly adminToken: string;
  private address = '';

  constructor(private readonly options: ApiServerOptions) {
    this.adminToken = this.issueToken({
      username: 'kubernetes-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    this.server = createServer({ key: options.tls.key, cert: options.tls.cert }, (req, res) => {
      void this.handle(req, res);
    });
  }

  get cluster(): Cluster {
    return this.options.cluster;
  }

  /** Issue a bearer token for a user. */
  issueToken(user: UserInfo): string {
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, user);
    return token;
  }

  /** A token for a service account, as a projected token would give its pods. */
  serviceAccountToken(namespace: string, name: string): string {
    return this.issueToken({
      username: `system:serviceaccount:${namespace}:${name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
    });
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const { port: bound } = this.server.address() as AddressInfo;
    this.address = `${host}:${bound}`;
    return `https://${this.address}`;
  }

  async close(): Promise<void> {
    for (const w of this.openWatches) w.end();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox');
    const user = this.authenticate(req);
    let attrs: RequestAttributes | undefined;
    let dryRun = false;
    try {
      if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const route = this.parseRoute(url.pathname);
      if (!route) {
        attrs = {
          verb: verbOfNonResource(req.method),
          apiGroup: '',
          resource: '',
          subresource: '',
          namespace: undefined,
          name: undefined,
          nonResourcePath: url.pathname,
        };
        this.authorizeOrThrow(user, attrs);
        return this.serveNonResource(url, res);
      }
      const type = this.cluster.type(route.group, route.version, route.resource);
      const watch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');
      attrs = {
        verb: verbOf(req.method ?? 'GET', route.name !== undefined, watch),
        apiGroup: route.group,
        resource: route.resource,
        subresource: route.subresource,
        namespace: route.namespace,
        name: route.name,
      };
      this.authorizeOrThrow(user, attrs);
      dryRun = url.searchParams.getAll('dryRun').includes('All');
      if (dryRun && !MUTATING.has(attrs.verb)) throw badRequest('dryRun is only valid for mutating requests');
      const dryRunValues = url.searchParams.getAll('dryRun');
      if (dryRunValues.some((v) => v !== 'All'))
        throw badRequest(`Invalid dryRun value: ${dryRunValues.join(',')}. Valid values: All`);
      const body = MUTATING.has(attrs.verb) ? await readBody(req) : undefined;
      this.serveResource(req, res, url, type, route, attrs.verb, body, dryRun);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(500, error instanceof Error ? error.message : String(error), 'InternalError');
      if (!res.headersSent) {
        res.writeHead(apiError.code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(apiError.toStatus()));
      } else res.end();
      this.record(user, attrs, dryRun, apiError.code);
      return;
    }
    this.record(user, attrs, dryRun, res.statusCode);
  }

  private record(
    user: UserInfo | undefined,
    attrs: RequestAttributes | undefined,
    dryRun: boolean,
    code: number,
  ): void {
    if (!attrs || !MUTATING.has(attrs.verb) || attrs.nonResourcePath !== undefined) return;
    this.audit.push({
      at: this.cluster.now().toISOString(),
      user: user?.username ?? 'system:anonymous',
      verb: attrs.verb,
      apiGroup: attrs.apiGroup,
      resource: attrs.resource,
      subresource: attrs.subresource,
      namespace: attrs.namespace,
      name: attrs.name,
      dryRun,
      code,
    });
  }

  private authenticate(req: IncomingMessage): UserInfo | undefined {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    return m ? this.tokens.get(m[1]?.trim() ?? '') : undefined;
  }

  private authorizeOrThrow(user: UserInfo, attrs: RequestAttributes): void {
    if (!authorize(this.cluster, user, attrs))
      throw new ApiError(403, forbiddenMessage(user, attrs), 'Forbidden', {
        name: attrs.name,
        group: attrs.apiGroup,
        kind: attrs.resource,
      });
  }

  private parseRoute(pathname: string): Route | undefined {
    const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts.length >= 3) {
      group = '';
      version = parts[1] ?? '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 4) {
      group = parts[1] ?? '';
      version = parts[2] ?? '';
      rest = parts.slice(3);
    } else return undefined;
    let namespace: string | undefined;
    if (
      rest[0] === 'namespaces' &&
      rest.length >= 3 &&
      !(rest.length === 3 && ['status', 'finalize'].includes(rest[2] ?? ''))
    ) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
    const [resource = '', name, subresource = ''] = rest;
    if (rest.length > 3) return undefined;
    return { group, version, namespace, resource, name, subresource };
  }

  private serveNonResource(url: URL, res: ServerResponse): void {
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const reg = this.cluster.registry;
    let body: unknown;
    if (p === '/api') body = apiVersions(this.address);
    else if (p === '/apis') body = apiGroupList(reg);
    else if (p === '/version')
      body = {
        major: '1',
        minor: '34',
        gitVersion: 'v1.34.0-kurative-sandbox',
        platform: 'linux/amd64',
        goVersion: 'go1.24',
      };
    else if (p === '/healthz' || p === '/readyz' || p === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    } else if (p === '/openapi/v3') body = openApiIndex(reg);
    else if (p.startsWith('/openapi/v3/')) {
      const parts = p.split('/').slice(3);
      body =
        parts[0] === 'api'
          ? openApiDocument(reg, '', parts[1] ?? '')
          : openApiDocument(reg, parts[1] ?? '', parts[2] ?? '');
    } else if (/^\/api\/[^/]+$/.test(p)) body = apiResourceList(reg, '', p.split('/')[2] ?? '');
    else if (/^\/apis\/[^/]+$/.test(p)) body = apiGroup(reg, p.split('/')[2] ?? '');
    else if (/^\/apis\/[^/]+\/[^/]+$/.test(p)) {
      const [, , g = '', v = ''] = p.split('/');
      body = apiResourceList(reg, g, v);
    }
    if (body === undefined)
      throw new ApiError(404, 'the server could not find the requested resource', 'NotFound');
    sendJson(res, 200, body);
  }

  // eslint-disable-next-line complexity
  private serveResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    type: ResourceType,
    route: Route,
    verb: string,
    body: unknown,
    dryRun: boolean,
  ): void {
    const c = this.cluster;
    const ns = type.namespaced ? route.namespace : undefined;
    if (type.namespaced && route.namespace === undefined && route.name !== undefined)
      throw notFound(type.resource, route.name);
    const table = (req.headers.accept ?? '').includes('as=Table');
    const sub = route.subresource;
    if (sub && !type.subresources.includes(sub))
      throw new ApiError(404, 'the server could not find the requested resource', 'NotFound');
    const name = route.name ?? '';
    if (sub === 'eviction') {
      if (verb !== 'create') throw new ApiError(405, 'eviction supports only POST', 'MethodNotAllowed');
      evictPod(c, ns ?? 'default', name, dryRun);
      return sendJson(res, 201, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        code: 201,
      });
    }
    if (sub === 'scale')
      return this.serveScale(res, type, ns, name, verb, body, dryRun, req.headers['content-type']);
    if (sub === 'log') {
      c.get(type, ns, name);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(this.options.podLogs?.(ns ?? '', name) ?? '');
      return;
    }
    if (sub === 'token') {
      c.get(type, ns, name);
      const token = this.serviceAccountToken(ns ?? 'default', name);
      const expiration = new Date(c.now().getTime() + 3600_000).toISOString();
      return sendJson(res, 201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace: ns },
        spec: (body as { spec?: unknown } | undefined)?.spec ?? {},
        status: { token, expirationTimestamp: expiration },
      });
    }
    const options = { dryRun, ...(sub === 'status' ? { subresource: 'status' } : {}) };
    switch (verb) {
      case 'get':
        return this.sendObject(res, 200, type, this.decorate(type, c.get(type, ns, name)), table);
      case 'list':
        return this.serveList(res, url, type, ns, table);
      case 'watch':
        return this.serveWatch(req, res, url, type, route, table);
      case 'create': {
        const created = c.create(type, requireObject(body), options, ns);
        return this.sendObject(res, 201, type, created, false);
      }
      case 'update': {
        const obj = requireObject(body);
        if (obj.metadata?.name && obj.metadata.name !== name)
          throw badRequest('the name of the object does not match the name on the URL');
        return this.sendObject(
          res,
          200,
          type,
          c.update(type, { ...obj, metadata: { ...obj.metadata, name } }, options, ns),
          false,
        );
      }
      case 'patch': {
        const patchType = patchTypeOf(req.headers['content-type']);
        const { object, created } = c.patch(type, ns, name, patchType, body, {
          ...options,
          force: url.searchParams.get('force') === 'true',
        });
        return this.sendObject(res, created ? 201 : 200, type, object, false);
      }
      case 'delete': {
        const opts = (body ?? {}) as DeleteOptions;
        const propagation = url.searchParams.get('propagationPolicy') ?? opts.propagationPolicy;
        const gone = c.delete(type, ns, name, {
          dryRun,
          propagationPolicy: propagation as DeleteOptions['propagationPolicy'],
          preconditions: opts.preconditions ?? {},
        });
        return this.sendObject(res, 200, type, gone, false);
      }
      case 'deletecollection': {
        const items = c.list(type, { namespace: ns, ...this.selectors(url) });
        for (const o of items) c.delete(type, o.metadata.namespace, o.metadata.name, { dryRun });
        return sendJson(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: apiVersionOf(type),
          metadata: { resourceVersion: String(c.store.resourceVersion) },
          items,
        });
      }
      default:
        throw new ApiError(
          405,
          `the server does not allow this method on the requested resource`,
          'MethodNotAllowed',
        );
    }
  }

  /** Fill computed status fields that a controller would keep current (PDB disruptions). */
  private decorate(type: ResourceType, o: KubeObject): KubeObject {
    if (type.kind === 'PodDisruptionBudget') {
      const s = pdbStatus(this.cluster, o);
      return {
        ...o,
        status: { ...(o['status'] as object | undefined), ...s, observedGeneration: o.metadata.generation },
      };
    }
    return o;
  }

  private selectors(url: URL): { labelSelector?: LabelSelector; fieldSelector?: FieldSelector } {
    try {
      const ls = url.searchParams.get('labelSelector');
      const fs = url.searchParams.get('fieldSelector');
      return {
        ...(ls ? { labelSelector: parseLabelSelector(ls) } : {}),
        ...(fs ? { fieldSelector: parseFieldSelector(fs) } : {}),
      };
    } catch (error) {
      if (error instanceof SelectorError) throw badRequest(error.message);
      throw error;
    }
  }

  private serveList(
    res: ServerResponse,
    url: URL,
    type: ResourceType,
    ns: string | undefined,
    table: boolean,
  ): void {
    const c = this.cluster;
    // Shared, not copied: only the page is decorated and serialised, at once.
    const all = c.listShared(type, { namespace: ns, ...this.selectors(url) });
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 0) || 0, CHUNK_LIMIT_MAX);
    const token = url.searchParams.get('continue');
    let start = 0;
    let rv = String(c.store.resourceVersion);
    if (token) {
      try {
        const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
          start: number;
          rv: string;
        };
        start = decoded.start;
        rv = decoded.rv;
      } catch {
        throw badRequest('continue key is not valid');
      }
    }
    const page = (limit > 0 ? all.slice(start, start + limit) : all.slice(start)).map((o) =>
      this.decorate(type, o),
    );
    const next =
      limit > 0 && start + limit < all.length
        ? Buffer.from(JSON.stringify({ start: start + limit, rv })).toString('base64url')
        : undefined;
    if (table) return sendJson(res, 200, toTable(type, page, c.now(), rv, next));
    sendJson(res, 200, {
      kind: type.readOnly ? `${type.kind}List` : `${type.kind}List`,
      apiVersion: apiVersionOf(type),
      metadata: {
        resourceVersion: rv,
        ...(next ? { continue: next, remainingItemCount: all.length - start - page.length } : {}),
      },
      items: page,
    });
  }

  private serveWatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    type: ResourceType,
    route: Route,
    table: boolean,
  ): void {
    const c = this.cluster;
    const ns = type.namespaced ? route.namespace : undefined;
    const selectors = this.selectors(url);
    const nameFilter = route.name;
    const matches = (o: KubeObject) =>
      (ns === undefined || o.metadata.namespace === ns) &&
      (nameFilter === undefined || o.metadata.name === nameFilter) &&
      (!selectors.labelSelector || matchesLabels(selectors.labelSelector, o.metadata.labels)) &&
      (!selectors.fieldSelector || matchesFields(selectors.fieldSelector, o));
    res.writeHead(200, {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
      'cache-control': 'no-cache',
    });
    const write = (eventType: string, object: unknown) =>
      res.write(`${JSON.stringify({ type: eventType, object })}\n`);
    const render = (o: KubeObject) =>
      table ? toTable(type, [o], c.now(), o.metadata.resourceVersion ?? '', undefined, false) : o;
    const send = (change: ChangeRecord) => {
      if (change.storage !== type.storage) return;
      const view = this.decorate(type, c.view(type, change.object));
      if (matches(view)) write(change.type, render(view));
    };
    const queued: ChangeRecord[] = [];
    let live = false;
    const unsubscribe = c.store.subscribe((change) => (live ? send(change) : queued.push(change)));
    const rvParam = url.searchParams.get('resourceVersion');
    try {
      if (!rvParam || rvParam === '0') {
        for (const o of c.list(type, { namespace: ns, ...selectors }))
          if (matches(o)) write('ADDED', render(this.decorate(type, o)));
      } else {
        const since = Number(rvParam);
        if (!Number.isFinite(since)) throw badRequest(`invalid resourceVersion ${rvParam}`);
        for (const change of c.store.changesSince(since)) send(change);
      }
    } catch (error) {
      unsubscribe();
      const status =
        error instanceof ApiError ? error.toStatus() : new ApiError(500, String(error)).toStatus();
      write('ERROR', status);
      res.end();
      return;
    }
    const replayedTo = c.store.resourceVersion;
    for (const change of queued) if (change.rv > replayedTo) send(change);
    live = true;
    this.openWatches.add(res);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const timers: NodeJS.Timeout[] = [];
    const finish = () => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
      this.openWatches.delete(res);
      if (!res.writableEnded) res.end();
    };
    if (timeout > 0) timers.push(setTimeout(finish, timeout * 1000));
    if (bookmarks) {
      const tick = setInterval(
        () =>
          write('BOOKMARK', {
            kind: type.kind,
            apiVersion: apiVersionOf(type),
            metadata: { resourceVersion: String(c.store.resourceVersion) },
          }),
        5000,
      );
      timers.push(tick);
    }
    req.on('close', finish);
  }

  private serveScale(
    res: ServerResponse,
    type: ResourceType,
    ns: string | undefined,
    name: string,
    verb: string,
    body: unknown,
    dryRun: boolean,
    contentType: string | undefined,
  ): void {
    const c = this.cluster;
    const current = c.get(type, ns, name);
    const toScale = (o: KubeObject) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: (o['spec'] as { replicas?: number }).replicas ?? 0 },
      status: {
        replicas: (o['status'] as { replicas?: number } | undefined)?.replicas ?? 0,
        selector: selectorToString(
          (o['spec'] as { selector?: Parameters<typeof selectorToString>[0] }).selector,
        ),
      },
    });
    if (verb === 'get') return sendJson(res, 200, toScale(current));
    let desired: KubeObject;
    if (verb === 'update') desired = requireObject(body);
    else if (verb === 'patch') {
      const scale = toScale(current) as unknown as KubeObject;
      const { object } = { object: applyPatchTo(scale, patchTypeOf(contentType), body) };
      desired = object;
    } else throw new ApiError(405, 'scale supports get, update and patch', 'MethodNotAllowed');
    const replicas = (desired['spec'] as { replicas?: unknown } | undefined)?.replicas;
    if (!Number.isInteger(replicas) || (replicas as number) < 0)
      throw new ApiError(
        422,
        `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        'Invalid',
      );
    const rv = desired.metadata?.resourceVersion;
    const updated = c.update(
      type,
      {
        ...current,
        metadata: { ...current.metadata, resourceVersion: rv ?? current.metadata.resourceVersion ?? '' },
        spec: { ...(current['spec'] as object), replicas },
      },
      { dryRun },
      ns,
    );
    sendJson(res, 200, toScale(updated));
  }

  private sendObject(
    res: ServerResponse,
    code: number,
    type: ResourceType,
    object: KubeObject,
    table: boolean,
  ): void {
    if (table)
      return sendJson(
        res,
        code,
        toTable(type, [object], this.cluster.now(), object.metadata.resourceVersion ?? ''),
      );
    sendJson(res, code, object);
  }
}

function applyPatchTo(
  target: KubeObject,
  patchType: ReturnType<typeof patchTypeOf>,
  body: unknown,
): KubeObject {
  // Scale is tiny: merge, strategic and apply all reduce to a merge of spec.replicas.
  if (patchType === 'json') {
    const ops = body as { op: string; path: string; value?: unknown }[];
    const out = structuredClone(target);
    for (const op of ops)
      if (op.path === '/spec/replicas' && (op.op === 'replace' || op.op === 'add'))
        (out['spec'] as Record<string, unknown>)['replicas'] = op.value;
    return out;
  }
  const patch = body as { spec?: { replicas?: unknown }; metadata?: { resourceVersion?: string } };
  return {
    ...target,
    metadata: {
      ...target.metadata,
      ...(patch.metadata?.resourceVersion ? { resourceVersion: patch.metadata.resourceVersion } : {}),
    },
    spec: { ...(target['spec'] as object), ...(patch.spec ?? {}) },
  };
}

function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function verbOfNonResource(method: string | undefined): string {
  return (method ?? 'GET').toLowerCase();
}

function requireObject(body: unknown): KubeObject {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the request body must be an object');
  const o = body as KubeObject;
  o.metadata ??= { name: '' };
  return o;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  const ct = req.headers['content-type'] ?? '';
  if (ct.includes('protobuf')) {
    // drain's fallback DELETE sends protobuf DeleteOptions, which the defaults cover.
    if (req.method === 'DELETE') return undefined;
    // client-go falls back to JSON when the server answers 415 to a protobuf body.
    throw new ApiError(
      415,
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml',
      'UnsupportedMediaType',
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    if (ct.includes('yaml')) {
      try {
        return parseYaml(text) as unknown;
      } catch {
        /* fall through */
      }
    }
    throw badRequest('the request body is not valid JSON');
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
