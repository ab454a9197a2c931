import { describe, expect, it } from 'vitest';
import { LIST_PAGE_SIZE, listInPages, type ListPage } from '../../../shared/kube/pages.js';

const gone = () => Object.assign(new Error('continue token expired'), { code: 410 });

/** A server of `items` in pages; `fail(call)` may throw instead of answering that call. */
function server(items: readonly number[], fail: (call: number) => Error | undefined = () => undefined) {
  const calls: { limit: number; _continue?: string }[] = [];
  const list: ListPage<number> = (page) => {
    calls.push(page);
    const error = fail(calls.length);
    if (error) return Promise.reject(error);
    const start = page._continue === undefined ? 0 : Number(page._continue);
    const end = start + page.limit;
    return Promise.resolve({
      items: items.slice(start, end),
      metadata: end < items.length ? { _continue: String(end) } : {},
    });
  };
  return { list, calls };
}

describe('listInPages', () => {
  it('reads every page in order, passing each continue token, and keeps what `keep` returns', async () => {
    const items = Array.from({ length: 7 }, (_, i) => i);
    const { list, calls } = server(items);
    expect(await listInPages(list, (n) => `#${n}`, { pageSize: 3 })).toEqual(items.map((n) => `#${n}`));
    expect(calls).toEqual([{ limit: 3 }, { limit: 3, _continue: '3' }, { limit: 3, _continue: '6' }]);
  });

  it("asks for kubectl's page size unless told otherwise, and one request serves a small list", async () => {
    const { list, calls } = server([1, 2]);
    expect(await listInPages(list, (n) => n)).toEqual([1, 2]);
    expect(calls).toEqual([{ limit: LIST_PAGE_SIZE }]);
  });

  it('treats an empty continue token as the last page', async () => {
    const list: ListPage<number> = () => Promise.resolve({ items: [1], metadata: { _continue: '' } });
    expect(await listInPages(list, (n) => n)).toEqual([1]);
  });

  it('starts again from the first page when the continue token expired, keeping nothing twice', async () => {
    const items = Array.from({ length: 5 }, (_, i) => i);
    const { list, calls } = server(items, (call) => (call === 2 ? gone() : undefined));
    expect(await listInPages(list, (n) => n, { pageSize: 2 })).toEqual(items);
    expect(calls.map((c) => c._continue)).toEqual([undefined, '2', undefined, '2', '4']);
  });

  it('gives up when the token expires again after its restarts', async () => {
    const { list, calls } = server([1, 2, 3, 4, 5], (call) => (call % 2 === 0 ? gone() : undefined));
    await expect(listInPages(list, (n) => n, { pageSize: 2 })).rejects.toMatchObject({ code: 410 });
    expect(calls.length).toBe(4);
  });

  it('does not restart on any other failure, nor on a first page refused', async () => {
    const failing = Object.assign(new Error('forbidden'), { code: 403 });
    const midway = server([1, 2, 3], (call) => (call === 2 ? failing : undefined));
    await expect(listInPages(midway.list, (n) => n, { pageSize: 1 })).rejects.toBe(failing);
    expect(midway.calls.length).toBe(2);
    const first = server([1, 2, 3], (call) => (call === 1 ? gone() : undefined));
    await expect(listInPages(first.list, (n) => n, { pageSize: 1 })).rejects.toMatchObject({ code: 410 });
    expect(first.calls.length).toBe(1);
  });
});
