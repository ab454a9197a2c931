import { z } from 'zod';
import { unavailable } from '../runtime/errors.js';

const InstantResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('vector'),
    result: z.array(
      z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) }),
    ),
  }),
});

const RangeResponse = z.object({
  status: z.literal('success'),
  data: z.object({
    resultType: z.literal('matrix'),
    result: z.array(
      z.object({
        metric: z.record(z.string(), z.string()),
        values: z.array(z.tuple([z.number(), z.string()])),
      }),
    ),
  }),
});

export interface InstantSample {
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly at: string;
}

export type Fetch = (
  url: string,
  init?: { signal?: AbortSignal },
) => Promise<{ status: number; json(): Promise<unknown>; text(): Promise<string> }>;

/** Prometheus HTTP API instant query (`GET /api/v1/query`); vector results only. */
export async function queryInstant(
  baseUrl: string,
  promql: string,
  options: QueryOptions = {},
): Promise<InstantSample[]> {
  const body = await get(baseUrl, 'api/v1/query', { query: promql }, options);
  const parsed = InstantResponse.safeParse(body);
  if (!parsed.success) throw unavailable(`prometheus returned an unexpected body for ${promql}`);
  return parsed.data.data.result.map((r) => ({
    labels: r.metric,
    value: Number(r.value[1]),
    at: new Date(r.value[0] * 1000).toISOString(),
  }));
}

/** One series of a range query: its labels and its points in time order. */
export interface RangeSeries {
  readonly labels: Record<string, string>;
  readonly points: readonly { readonly value: number; readonly at: string }[];
}

/**
 * Prometheus HTTP API range query (`GET /api/v1/query_range`, matrix results): the query evaluated
 * every `stepSeconds` from `start` to `end`.
 */
export async function queryRange(
  baseUrl: string,
  promql: string,
  range: { start: Date; end: Date; stepSeconds: number },
  options: QueryOptions = {},
): Promise<RangeSeries[]> {
  const body = await get(
    baseUrl,
    'api/v1/query_range',
    {
      query: promql,
      start: String(range.start.getTime() / 1000),
      end: String(range.end.getTime() / 1000),
      step: String(range.stepSeconds),
    },
    options,
  );
  const parsed = RangeResponse.safeParse(body);
  if (!parsed.success) throw unavailable(`prometheus returned an unexpected range body for ${promql}`);
  return parsed.data.data.result.map((r) => ({
    labels: r.metric,
    points: r.values.map(([t, v]) => ({ value: Number(v), at: new Date(t * 1000).toISOString() })),
  }));
}

export interface QueryOptions {
  fetch?: Fetch;
  timeoutMs?: number;
}

/** GET a Prometheus API path; a transport failure or a non-200 answer is `unavailable` (retry later). */
async function get(
  baseUrl: string,
  path: string,
  params: Record<string, string>,
  options: QueryOptions,
): Promise<unknown> {
  const doFetch: Fetch = options.fetch ?? ((url, init) => fetch(url, init));
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  let response: Awaited<ReturnType<Fetch>>;
  try {
    response = await doFetch(url.toString(), { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  } catch (cause) {
    throw unavailable(`prometheus query failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
  if (response.status !== 200)
    throw unavailable(`prometheus answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  return response.json();
}
