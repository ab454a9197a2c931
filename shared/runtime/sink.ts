import type { CloudEvent } from 'cloudevents';
import { HTTP } from 'cloudevents';
import { unavailable } from './errors.js';

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<{ status: number; text(): Promise<string> }>;

export interface SinkOptions {
  readonly url: string;
  readonly overrides: Readonly<Record<string, string>>;
  readonly retries: number;
  readonly timeoutMs: number;
  readonly fetch?: FetchLike;
  readonly sleep?: (ms: number) => Promise<void>;
}

export type PostToSink = (event: CloudEvent<unknown>) => Promise<void>;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * POST events to K_SINK in binary mode, applying K_CE_OVERRIDES, and retry until a 2xx.
 * The SDK's httpTransport resolves on any status, so the status is checked here.
 */
export function createSinkPoster(options: SinkOptions): PostToSink {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const sleep = options.sleep ?? defaultSleep;
  return async (event) => {
    const withOverrides =
      Object.keys(options.overrides).length > 0 ? event.cloneWith(options.overrides) : event;
    const message = HTTP.binary(withOverrides);
    const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
    const body = typeof message.body === 'string' ? message.body : JSON.stringify(message.body ?? null);
    let lastProblem = '';
    for (let attempt = 0; attempt <= options.retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(50 * 2 ** (attempt - 1), 2000));
      try {
        const response = await doFetch(options.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        if (response.status >= 200 && response.status < 300) return;
        lastProblem = `status ${response.status}: ${(await response.text()).slice(0, 200)}`;
        // 4xx other than 404/409/429 means the sink rejects the event itself: retrying will not help.
        if (response.status >= 400 && response.status < 500 && ![404, 409, 429].includes(response.status))
          break;
      } catch (cause) {
        lastProblem = cause instanceof Error ? cause.message : String(cause);
      }
    }
    throw unavailable(`K_SINK rejected event ${event.id} (${event.type}): ${lastProblem}`);
  };
}
