import { compareForSort, sortValue } from '../scim/filter-eval.js';
import type { JsonObject } from '../scim/values.js';

/** How a list is asked for beyond paging: a predicate to keep, and an order. */
export interface ScanQuery {
  match?: ((resource: JsonObject) => boolean) | undefined;
  sortBy?: string | undefined;
  descending?: boolean;
}

/** Rows a page: big enough that a page's round trip is amortised, small enough to bound memory. */
export const SCAN_PAGE = 1_000;

/**
 * Every item whose resource the predicate keeps, read a page at a time (memory holds
 * the matches, not the table), then ordered: by `sortBy`, else by `order` (the list's
 * usual order). How the bridge answers the filters its index cannot, and any sorted
 * list; its cost grows with the store (docs/benchmarks.md).
 */
export async function scan<T>(pages: AsyncIterable<T[]>, resourceOf: (item: T) => JsonObject, q: ScanQuery & { order?: (a: T, b: T) => number }): Promise<T[]> {
  const kept: { item: T; resource: JsonObject }[] = [];
  for await (const page of pages) {
    for (const item of page) {
      const resource = resourceOf(item);
      if (!q.match || q.match(resource)) kept.push({ item, resource });
    }
  }
  if (q.sortBy) {
    const by = q.sortBy;
    const keyed = kept.map((k) => ({ ...k, key: sortValue(k.resource, by) }));
    keyed.sort((a, b) => compareForSort(a.key, b.key, q.descending === true));
    return keyed.map((k) => k.item);
  }
  const items = kept.map((k) => k.item);
  return q.order ? items.sort(q.order) : items;
}

/** Pages by offset, for tables small enough that the depth does not matter (groups). */
export async function* offsetPages<T>(fetch: (offset: number, limit: number) => Promise<T[]>): AsyncGenerator<T[]> {
  for (let offset = 0; ; offset += SCAN_PAGE) {
    const page = await fetch(offset, SCAN_PAGE);
    yield page;
    if (page.length < SCAN_PAGE) return;
  }
}

/** Pages by key (after the last one seen), which cost the same at any depth (users). */
export async function* keysetPages<T>(fetch: (after: string | undefined, limit: number) => Promise<T[]>, keyOf: (item: T) => string): AsyncGenerator<T[]> {
  let after: string | undefined;
  for (;;) {
    const page = await fetch(after, SCAN_PAGE);
    yield page;
    if (page.length < SCAN_PAGE) return;
    after = keyOf(page[page.length - 1]!);
  }
}
