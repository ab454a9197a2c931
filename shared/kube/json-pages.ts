import * as http from 'node:http';
import * as https from 'node:https';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { listInPages, type ListPage } from './pages.js';

/**
 * A list's pages as the API server's plain JSON (scrape's pods and nodes, rca's snapshot), for
 * readers whose types fit JSON: client-node turns every object into its typed models first — for
 * 10 000 pods ~0.4 s of CPU a scrape and as much garbage again as the JSON itself. The request is
 * authenticated and routed exactly as client-node's own (`applyToHTTPSOptions`: credentials, exec
 * plugins, CA, proxy agent); a refusal rejects with client-node's ApiException (status as `code`,
 * the Status as `body`), so callers handle both paths alike.
 */
export function jsonPages(kubeConfig: KubeConfig, path: string): ListPage<unknown> {
  return async ({ limit, _continue }) => {
    const query = new URLSearchParams({ limit: String(limit) });
    if (_continue !== undefined) query.set('continue', _continue);
    const list = (await getJson(kubeConfig, `${path}?${query.toString()}`)) as {
      items?: unknown[] | null;
      metadata?: { continue?: string };
    };
    const next = list.metadata?.continue;
    return { items: list.items ?? [], metadata: next ? { _continue: next } : {} };
  };
}

/** How a function lists the cluster: its page size and transport, both replaceable in tests. */
export interface JsonListOptions {
  /** Objects per list request (default LIST_PAGE_SIZE). */
  readonly listPageSize?: number;
  /** A list's pages by its API path (default: the API server's JSON, `jsonPages`). */
  readonly listPages?: (path: string) => ListPage<unknown>;
}

/**
 * Every object of the list at an API path, read a page at a time as JSON (`listInPages` over
 * `jsonPages`, or the transport given), each turned into what the caller keeps as its page arrives.
 */
export function jsonLists(
  kubeConfig: KubeConfig,
  options: JsonListOptions,
): <U>(path: string, keep: (item: unknown) => U) => Promise<U[]> {
  const paging = options.listPageSize ? { pageSize: options.listPageSize } : {};
  const pages = options.listPages ?? ((path: string) => jsonPages(kubeConfig, path));
  return (path, keep) => listInPages(pages(path), keep, paging);
}

/** GET a path of the current cluster's API server as JSON. */
async function getJson(kubeConfig: KubeConfig, path: string): Promise<unknown> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig names no current cluster');
  // Appended, not resolved: a server URL may carry a path of its own (a proxy's prefix).
  const url = new URL(server.replace(/\/+$/, '') + path);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const request = transport.request(url, options, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) {
          const headers = Object.fromEntries(
            Object.entries(response.headers).map(([k, v]) => [
              k,
              Array.isArray(v) ? v.join(', ') : (v ?? ''),
            ]),
          );
          reject(new ApiException(status, `HTTP-Code: ${status}\nBody: ${text}`, text, headers));
          return;
        }
        try {
          resolve(JSON.parse(text));
        } catch (error) {
          reject(new Error(`GET ${path}: the API server's answer is not JSON`, { cause: error }));
        }
      });
    });
    request.on('error', reject);
    request.end();
  });
}
