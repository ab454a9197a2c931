import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import type { FunctionName } from '../shared/contracts/index.js';
import type { Logger } from '../shared/log/index.js';
import { routesFor, type Route } from '../triggers/index.js';

/** Where a delivery ended: a reply, nothing to say, or the dead-letter list. */
export interface DeliveryRecord {
  readonly eventId: string;
  readonly eventType: string;
  readonly route: string;
  readonly function: FunctionName;
  readonly status: number;
  readonly attempts: number;
  readonly outcome: 'reply' | 'accepted' | 'dead-lettered';
  readonly replyType?: string;
}

export interface DeadLetter {
  readonly event: CloudEventV1<unknown>;
  readonly route: string;
  readonly function: FunctionName;
  readonly status: number;
  readonly reason: string;
  readonly attempts: number;
}

export interface DevBrokerOptions {
  readonly routes: readonly Route[];
  /** Base URL of each function server. */
  readonly endpoints: Partial<Record<FunctionName, string>>;
  /** Delivery attempts after the first (Knative `delivery.retry`). */
  readonly retry?: number;
  /** First backoff delay; doubles per attempt (Knative `backoffPolicy: exponential`). */
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
  readonly log?: Logger;
  readonly historyLimit?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called for every event that enters the broker (the live view subscribes here). */
  readonly onEvent?: (event: CloudEventV1<unknown>) => void;
}

const RETRYABLE = new Set([404, 408, 409, 429]);
const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * In-process broker for the sandbox and tests. It applies exactly the routes in triggers/,
 * delivers over real HTTP, re-ingests replies, retries transient failures with exponential
 * backoff and parks what cannot be delivered in a visible dead-letter list.
 */
export class DevBroker {
  readonly deadLetters: DeadLetter[] = [];
  readonly history: DeliveryRecord[] = [];
  /** Deliveries per function since the start (history keeps only the latest). */
  readonly delivered: Partial<Record<FunctionName, number>> = {};
  private readonly options: Required<Omit<DevBrokerOptions, 'log' | 'onEvent'>> &
    Pick<DevBrokerOptions, 'log' | 'onEvent'>;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private server: Server | undefined;
  private endpoints: Partial<Record<FunctionName, string>>;

  constructor(options: DevBrokerOptions) {
    this.options = {
      retry: 3,
      backoffMs: 50,
      timeoutMs: 30_000,
      historyLimit: 10_000,
      sleep: defaultSleep,
      ...options,
    };
    this.endpoints = { ...options.endpoints };
  }

  /** Point a function's deliveries at a (new) URL. */
  setEndpoint(fn: FunctionName, url: string): void {
    this.endpoints[fn] = url;
  }

  /** Accept an event into the broker; delivery happens in the background. */
  publish(event: CloudEventV1<unknown>): void {
    this.options.onEvent?.(event);
    const routes = routesFor({ ...event }, this.options.routes);
    for (const route of routes) {
      this.track(this.deliver(event, route));
    }
  }

  /** Resolves when no delivery is in flight (including replies re-ingested meanwhile). */
  async idle(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Serve the broker ingress (what K_SINK points at) on a local port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
        );
        try {
          const parsed = HTTP.toEvent({ headers, body: Buffer.concat(chunks).toString('utf8') });
          const events = Array.isArray(parsed) ? parsed : [parsed];
          for (const e of events) new CloudEvent(e).validate();
          for (const e of events) this.publish(e);
          res.writeHead(202).end();
        } catch (error) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: 'BadEvent',
              message: error instanceof Error ? error.message : String(error),
            }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, host, resolve));
    const address = this.server.address() as AddressInfo;
    return `http://${host}:${address.port}/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(work: Promise<void>): void {
    this.inFlight++;
    void work.finally(() => {
      this.inFlight--;
      if (this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
    });
  }

  private record(entry: DeliveryRecord): void {
    this.delivered[entry.function] = (this.delivered[entry.function] ?? 0) + 1;
    this.history.push(entry);
    if (this.history.length > this.options.historyLimit)
      this.history.splice(0, this.history.length - this.options.historyLimit);
  }

  private async deliver(event: CloudEventV1<unknown>, route: Route): Promise<void> {
    const url = this.endpoints[route.function];
    const message = HTTP.binary(new CloudEvent(event, false));
    const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
    const body =
      typeof message.body === 'string'
        ? message.body
        : message.body === undefined
          ? ''
          : JSON.stringify(message.body);
    let status = 0;
    let reason = '';
    let attempt = 0;
    for (; attempt <= this.options.retry; attempt++) {
      if (attempt > 0) await this.options.sleep(this.options.backoffMs * 2 ** (attempt - 1));
      if (!url) {
        reason = `no endpoint for function ${route.function}`;
        break;
      }
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
        status = response.status;
        const text = await response.text();
        if (status >= 200 && status < 300) {
          this.handleReply(event, route, response.headers, text, status, attempt + 1);
          return;
        }
        reason = text.slice(0, 500);
        if (status < 500 && !RETRYABLE.has(status)) break;
      } catch (error) {
        status = 0;
        reason = error instanceof Error ? error.message : String(error);
      }
    }
    const attempts = Math.min(attempt + 1, this.options.retry + 1);
    this.deadLetters.push({ event, route: route.name, function: route.function, status, reason, attempts });
    this.record({
      eventId: event.id,
      eventType: event.type,
      route: route.name,
      function: route.function,
      status,
      attempts,
      outcome: 'dead-lettered',
    });
    this.options.log?.warn({ eventId: event.id, route: route.name, status, reason }, 'dead-lettered');
  }

  private handleReply(
    event: CloudEventV1<unknown>,
    route: Route,
    headers: Headers,
    text: string,
    status: number,
    attempts: number,
  ): void {
    const base = {
      eventId: event.id,
      eventType: event.type,
      route: route.name,
      function: route.function,
      status,
      attempts,
    };
    const replyHeaders = Object.fromEntries(headers.entries());
    if (status !== 200 || !replyHeaders['ce-type']) {
      if (text.length > 0 && status === 200) {
        // Knative: a non-empty body that is not a CloudEvent is a bad reply (502 at the broker).
        this.deadLetters.push({
          event,
          route: route.name,
          function: route.function,
          status: 502,
          reason: 'reply is not a CloudEvent',
          attempts,
        });
        this.record({ ...base, status: 502, outcome: 'dead-lettered' });
        return;
      }
      this.record({ ...base, outcome: 'accepted' });
      return;
    }
    try {
      const reply = HTTP.toEvent({ headers: replyHeaders, body: text });
      const events = Array.isArray(reply) ? reply : [reply];
      for (const e of events) new CloudEvent(e).validate();
      this.record({ ...base, outcome: 'reply', replyType: events[0]?.type ?? '' });
      for (const e of events) this.publish(e);
    } catch (error) {
      const reason = `invalid reply: ${error instanceof Error ? error.message : String(error)}`;
      this.deadLetters.push({
        event,
        route: route.name,
        function: route.function,
        status: 502,
        reason,
        attempts,
      });
      this.record({ ...base, status: 502, outcome: 'dead-lettered' });
    }
  }
}
