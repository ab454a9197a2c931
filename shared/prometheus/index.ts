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
  options: { fetch?: Fetch; timeoutMs?: number } = {},
): Promise<InstantSample[]> {
  const doFetch: Fetch = options.fetch ?? ((url, init) => fetch(url, init));
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('query', promql);
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
  const parsed = InstantResponse.safeParse(await response.json());
  if (!parsed.success) throw unavailable(`prometheus returned an unexpected body for ${promql}`);
  return parsed.data.data.result.map((r) => ({
    labels: r.metric,
    value: Number(r.value[1]),
    at: new Date(r.value[0] * 1000).toISOString(),
  }));
}
