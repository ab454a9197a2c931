import { statusOf } from './index.js';

/**
 * Objects per list request, as kubectl (`--chunk-size`) and client-go's reflector ask for: a page
 * of pods is ~2 MB of JSON, where a whole list of 10 000 is ~35 MB and its client-node models
 * several times that.
 */
export const LIST_PAGE_SIZE = 500;

/** One page of a list call: client-node's list methods take these parameters and return this shape. */
export type ListPage<T> = (page: {
  limit: number;
  _continue?: string;
}) => Promise<{ items: T[]; metadata?: { _continue?: string } }>;

/**
 * Every object of a list, read a page at a time (`limit` and `continue`, Kubernetes API
 * conventions, "Retrieving large results sets in chunks"), each turned into what the caller keeps
 * before the next page is read: a large cluster's list never lives whole in memory. The pages form
 * one consistent snapshot; when the server has compacted the snapshot away (410 Gone, the continue
 * token expired) the list starts again from the first page, `restarts` times at most.
 */
export async function listInPages<T, U>(
  list: ListPage<T>,
  keep: (item: T) => U,
  options: { readonly pageSize?: number; readonly restarts?: number } = {},
): Promise<U[]> {
  const limit = options.pageSize ?? LIST_PAGE_SIZE;
  const restarts = options.restarts ?? 1;
  for (let attempt = 0; ; attempt++) {
    const kept: U[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await list(token === undefined ? { limit } : { limit, _continue: token });
        for (const item of page.items) kept.push(keep(item));
        token = page.metadata?._continue || undefined;
      } while (token !== undefined);
      return kept;
    } catch (error) {
      // Only a token that expired mid-list is worth starting over for; a first page refused is final.
      if (statusOf(error) !== 410 || token === undefined || attempt >= restarts) throw error;
    }
  }
}
