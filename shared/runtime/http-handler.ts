import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import type { Config } from '../config/index.js';
import {
  checkEventData,
  EVENT_TYPES,
  EventAttributes,
  isEventType,
  type EventType,
} from '../contracts/index.js';
import type { Logger } from '../log/index.js';
import { badEvent, KurativeError, toErrorResponse } from './errors.js';
import type { FunctionDefinition, HandlerResult, InboundEvent, OutboundEvent } from './function.js';
import { createSinkPoster, type FetchLike, type PostToSink } from './sink.js';
import { childTraceparent, parseTraceparent } from './trace.js';

/** The part of an HTTP request the runtime reads (functions-framework passes an Express request). */
export interface RequestLike {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody?: Buffer | undefined;
}

/** The part of an HTTP response the runtime writes. */
export interface ResponseLike {
  status(code: number): ResponseLike;
  set(field: string, value: string): ResponseLike;
  send(body?: string): unknown;
}

export interface RuntimeOptions<D> {
  readonly config: Config;
  readonly deps: D;
  readonly log: Logger;
  /** Injected transport for K_SINK posts (tests pass a fake). */
  readonly fetch?: FetchLike;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Health probe: resolves true when dependencies are reachable. */
  readonly ready?: () => Promise<boolean>;
}

export type HttpHandler = (req: RequestLike, res: ResponseLike) => Promise<void>;

const KNOWN_ATTRIBUTES = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
  'incidentid',
  'traceparent',
]);

/** Build the HTTP handler that applies the Knative data-plane contract around a function definition. */
export function createHttpHandler<D, T extends EventType>(
  definition: FunctionDefinition<D, T>,
  options: RuntimeOptions<D>,
): HttpHandler {
  const { config } = options;
  const accepts = new Set<string>(definition.accepts);
  const postToSink: PostToSink | undefined = config.sink.url
    ? createSinkPoster({ ...config.sink, url: config.sink.url, fetch: options.fetch, sleep: options.sleep })
    : undefined;
  const source = `/kurative/${definition.name}`;

  return async (req, res) => {
    if (req.path === '/_/health') return void sendJson(res, 200, { status: 'ok' });
    if (req.path === '/_/ready') {
      const ok = options.ready ? await options.ready().catch(() => false) : true;
      return void sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
    }
    let log = options.log;
    try {
      if (req.method !== 'POST')
        throw new KurativeError(405, 'MethodNotAllowed', `use POST, not ${req.method}`);
      const inbound = parseInbound(req, accepts, definition.name);
      const trace = parseTraceparent(inbound.traceparent);
      log = options.log.child({
        eventId: inbound.id,
        eventType: inbound.type,
        incidentId: inbound.incidentId,
        traceId: trace?.traceId,
      });
      const started = performance.now();
      const result = await definition.handle(inbound as never, { config, deps: options.deps, log });
      const outbound = toOutboundList(result);
      const events = outbound.map((o, i) => toCloudEvent(o, i, inbound, source, config.maxEventBytes));
      if (events.length > 1) {
        if (!postToSink)
          throw new KurativeError(500, 'NoSink', `${events.length} events to emit but K_SINK is not set`);
        for (const extra of events.slice(1)) await postToSink(extra);
      }
      log.info(
        { emitted: events.map((e) => e.type), ms: Math.round(performance.now() - started) },
        'handled',
      );
      const reply = events[0];
      if (!reply) return void res.status(202).send('');
      const message = HTTP.binary(reply);
      res.status(200);
      for (const [k, v] of Object.entries(message.headers)) res.set(k, String(v));
      res.send(typeof message.body === 'string' ? message.body : JSON.stringify(message.body));
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      if (status >= 500) log.error({ err: error, status }, body.message);
      else log.warn({ status, reason: body.message }, 'rejected');
      sendJson(res, status, body);
    }
  };
}

function toOutboundList(result: HandlerResult): readonly OutboundEvent[] {
  if (result === undefined) return [];
  return isOutboundArray(result) ? result : [result];
}

function isOutboundArray(
  result: OutboundEvent | readonly OutboundEvent[],
): result is readonly OutboundEvent[] {
  return Array.isArray(result);
}

function sendJson(res: ResponseLike, status: number, body: unknown): void {
  res.status(status).set('content-type', 'application/json').send(JSON.stringify(body));
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

/** Parse, validate and type an incoming request; every problem is a 400 with a reason. */
export function parseInbound(req: RequestLike, accepts: ReadonlySet<string>, target: string): InboundEvent {
  const headers = flattenHeaders(req.headers);
  const body = req.rawBody && req.rawBody.length > 0 ? req.rawBody.toString('utf8') : '';
  if (headers['x-connector'] === 'cron-connector' && body === '' && !headers['ce-type']) {
    // OpenFaaS cron-connector posts an empty body: treat it as a ping tick.
    return cronTick(headers, accepts, target);
  }
  if ((headers['content-type'] ?? '').startsWith('application/cloudevents-batch')) {
    throw badEvent('batched CloudEvents are not supported; send one event per request');
  }
  let parsed: CloudEventV1<unknown> | CloudEventV1<unknown>[];
  try {
    parsed = HTTP.toEvent({ headers, body });
  } catch (cause) {
    throw badEvent(`not a CloudEvent: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (Array.isArray(parsed)) throw badEvent('batched CloudEvents are not supported');
  const attrs = EventAttributes.safeParse({ ...parsed });
  if (!attrs.success) {
    const issue = attrs.error.issues[0];
    throw badEvent(
      `invalid CloudEvent attribute ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const type = attrs.data.type;
  if (!isEventType(type) || !accepts.has(type)) {
    throw badEvent(`function ${target} does not accept events of type ${JSON.stringify(type)}`);
  }
  const data = parseData(type, parsed.data);
  const extensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (
      !KNOWN_ATTRIBUTES.has(k) &&
      (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    ) {
      extensions[k] = String(v);
    }
  }
  return {
    id: attrs.data.id,
    type,
    source: attrs.data.source,
    subject: attrs.data.subject,
    time: attrs.data.time,
    incidentId: attrs.data.incidentid,
    traceparent: attrs.data.traceparent ?? childTraceparent(undefined),
    data: data,
    extensions,
  };
}

function parseData(type: EventType, raw: unknown): unknown {
  let value = raw === '' ? undefined : raw;
  if (typeof value === 'string' && type !== EVENT_TYPES.ping) {
    try {
      value = JSON.parse(value);
    } catch {
      throw badEvent(`data of ${type} must be JSON`);
    }
  }
  if (value instanceof Uint32Array || Buffer.isBuffer(value))
    throw badEvent(`data of ${type} must be JSON, not binary`);
  const result = checkEventData(type, value);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'data'}: ${i.message}`);
    throw badEvent(`invalid ${type} data: ${problems.join('; ')}`);
  }
  return result.data;
}

function cronTick(
  headers: Record<string, string>,
  accepts: ReadonlySet<string>,
  target: string,
): InboundEvent {
  if (!accepts.has(EVENT_TYPES.ping)) throw badEvent(`function ${target} is not triggered by cron ticks`);
  const now = new Date().toISOString();
  return {
    id: `cron-${headers['x-call-id'] ?? now}`,
    type: EVENT_TYPES.ping,
    source: 'openfaas/cron-connector',
    subject: undefined,
    time: now,
    incidentId: undefined,
    traceparent: childTraceparent(undefined),
    data: undefined,
    extensions: {},
  };
}

function toCloudEvent(
  out: OutboundEvent,
  index: number,
  inbound: InboundEvent,
  source: string,
  maxBytes: number,
): CloudEvent<unknown> {
  const checked = checkEventData(out.type, out.data);
  if (!checked.success) {
    // Our own bug: never emit an event that breaks its contract.
    throw new KurativeError(
      500,
      'ContractViolation',
      `emitted ${out.type} breaks its contract: ${checked.error.issues[0]?.message ?? ''}`,
    );
  }
  // Deterministic ids: a redelivered input produces the same output ids, so consumers can de-duplicate.
  const id = createHash('sha256')
    .update(`${inbound.id}\u0000${index}\u0000${out.type}`)
    .digest('hex')
    .slice(0, 32);
  const incidentId = out.incidentId ?? inbound.incidentId;
  const extensions = out.extensions ?? {};
  for (const name of Object.keys(extensions)) {
    if (!/^[a-z0-9]{1,20}$/.test(name) || KNOWN_ATTRIBUTES.has(name)) {
      throw new KurativeError(500, 'ContractViolation', `invalid extension name ${JSON.stringify(name)}`);
    }
  }
  const event = new CloudEvent<unknown>({
    specversion: '1.0',
    id,
    source,
    type: out.type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: checked.data,
    traceparent: childTraceparent(parseTraceparent(inbound.traceparent)),
    ...extensions,
    ...(out.subject === undefined ? {} : { subject: out.subject }),
    ...(incidentId === undefined ? {} : { incidentid: incidentId }),
  });
  const size = Buffer.byteLength(JSON.stringify(checked.data));
  if (size > maxBytes) {
    throw new KurativeError(
      500,
      'EventTooLarge',
      `emitted ${out.type} is ${size} bytes, over the ${maxBytes}-byte limit`,
    );
  }
  return event;
}
