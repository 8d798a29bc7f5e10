import { compareForSort, sortValue } from '../scim/filter-eval.js';
import type { JsonObject } from '../scim/values.js';

/** How a list is asked for beyond paging: a predicate to keep, and an order. */
export interface ScanQuery {
  match?: ((resource: JsonObject) => boolean) | undefined;
  sortBy?: string | undefined;
  descending?: boolean;
}

const PAGE = 1_000;

/**
 * Every item whose resource the predicate keeps, read from the store a page at a time
 * (memory holds the matches, not the table), then sorted: how the bridge answers the
 * filters its index cannot, and any sorted list. Its cost grows with the store.
 */
export async function scan<T>(
  fetch: (offset: number, limit: number) => Promise<T[]>,
  resourceOf: (item: T) => JsonObject,
  q: ScanQuery,
): Promise<T[]> {
  const kept: { item: T; resource: JsonObject }[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await fetch(offset, PAGE);
    for (const item of page) {
      const resource = resourceOf(item);
      if (!q.match || q.match(resource)) kept.push({ item, resource });
    }
    if (page.length < PAGE) break;
  }
  if (q.sortBy) {
    const by = q.sortBy;
    const keyed = kept.map((k) => ({ ...k, key: sortValue(k.resource, by) }));
    keyed.sort((a, b) => compareForSort(a.key, b.key, q.descending === true));
    return keyed.map((k) => k.item);
  }
  return kept.map((k) => k.item);
}
