import type { FsUser } from '../../fullstory/api.js';
import { MAX_PAGE } from '../../scim/constants.js';
import { ScimError } from '../../scim/errors.js';
import { parseFilter, type EqTerm } from '../../scim/filter.js';
import { filterableUserAttr } from '../../scim/user.js';
import type { JsonObject } from '../../scim/values.js';
import { USER_FILTER_VOCABULARY, type UserRow } from '../../store/store.js';
import { keysetPages, offsetPages, scan } from '../scan.js';
import { fromUpstream } from '../user-mapping.js';
import { byCreation, callUpstream, createdOf, indexedView, viewOf } from './calls.js';
import type { ListQuery, UsersServiceDeps, UserView } from './types.js';

/**
 * Reading users, four ways: by id (the index, FullStory where the index is not fresh),
 * an import page (FullStory's own list, or a fresh index by key), an indexed filter
 * (asked upstream on a miss), and a scan for any other filter or a sort.
 */
export class UserReads {
  /** Where the import page starting at each index begins (the last id of the page before it). */
  private readonly cursors = new Map<number, string>();

  constructor(private readonly deps: UsersServiceDeps) {}

  private get store() {
    return this.deps.store;
  }
  private get api() {
    return this.deps.api;
  }

  /**
   * Indexes teammates FullStory holds that the bridge never saw (role null: not the
   * bridge's to manage until they join a mapped group) and returns their rows.
   */
  async adopt(users: readonly FsUser[]): Promise<UserRow[]> {
    if (users.length === 0) return [];
    await this.store.transaction((tx) => tx.users.adopt(users.map((fs) => ({ id: fs.id, resource: fromUpstream(fs), role: null, ...createdOf(fs) }))));
    return this.store.read((r) => r.users.getMany(users.map((u) => u.id)));
  }

  /** The indexed row for id, adopting a user FullStory holds that the bridge never saw. */
  async row(id: string): Promise<{ row: UserRow; fs?: FsUser }> {
    const row = await this.store.read((r) => r.users.get(id));
    if (row?.deleted) throw new ScimError(404, `User ${id} not found`);
    if (row) return { row };
    const fs = await callUpstream(() => this.api.getUser(id));
    const [adopted] = await this.adopt([fs]);
    if (!adopted || adopted.deleted) throw new ScimError(404, `User ${id} not found`);
    return { row: adopted, fs };
  }

  async get(id: string): Promise<UserView> {
    const indexed = await this.store.read((r) => r.users.get(id));
    if (indexed?.deleted) throw new ScimError(404, `User ${id} not found`);
    // Recorded in shadow mode and not applied yet: FullStory has nothing to add.
    if (indexed && this.api.links.isPending(id)) return viewOf(indexed);
    // A fresh index answers alone, with FullStory's word as its last refresh saw it.
    if (indexed && this.deps.index?.fresh()) return indexedView(indexed);
    let fs: FsUser;
    try {
      fs = await callUpstream(() => this.api.getUser(id));
    } catch (err) {
      // Deleted in FullStory itself: forget it here too, so filters stop finding it.
      if (err instanceof ScimError && err.status === 404 && indexed) await this.store.transaction((tx) => tx.users.delete(id, false));
      throw err;
    }
    const row = indexed ?? (await this.adopt([fs]))[0];
    if (!row || row.deleted) throw new ScimError(404, `User ${id} not found`);
    return viewOf(row, fs);
  }

  async list(query: ListQuery): Promise<{ total: number; startIndex: number; views: UserView[] }> {
    const startIndex = Math.max(1, query.startIndex);
    const count = Math.min(MAX_PAGE, Math.max(0, query.count));
    const parsed = query.filter ? parseFilter(query.filter, USER_FILTER_VOCABULARY, query.anyAttribute ? () => true : filterableUserAttr) : undefined;
    if (parsed && 'terms' in parsed && !query.sortBy) return this.filtered(parsed.terms, startIndex, count);
    // A fresh index answers an import page by itself (in id order, the same on every page).
    if (!parsed && !query.sortBy && this.deps.mode !== 'shadow' && this.deps.index?.fresh()) return this.indexPage(startIndex, count);
    // In shadow mode the IdP's users are in the index, not (yet) in FullStory.
    if (parsed || query.sortBy || this.deps.mode === 'shadow')
      return this.scanned(parsed && 'terms' in parsed ? parsed.terms : [], parsed && 'match' in parsed ? parsed.match : undefined, query, startIndex, count);
    // Unfiltered (an IdP's import): FullStory's own list, so users created outside the bridge show too.
    const page = await callUpstream(() => this.api.listUsersFilled(startIndex, Math.max(count, 1)));
    const resources = (page.Resources ?? []).slice(0, count);
    const rows = new Map((await this.store.read((r) => r.users.getMany(resources.map((u) => u.id)))).map((r) => [r.id, r]));
    for (const r of await this.adopt(resources.filter((u) => !rows.has(u.id)))) rows.set(r.id, r);
    const views = resources.flatMap((fs) => {
      const row = rows.get(fs.id);
      return row && !row.deleted ? [viewOf(row, fs)] : [];
    });
    return { total: page.totalResults, startIndex, views };
  }

  /**
   * An import page from a fresh index, in id order. An IdP imports page after page, so the
   * page that follows one served here is read by key from where that one ended (a deep
   * OFFSET costs as much as the rows it skips); any other page by offset.
   */
  private async indexPage(startIndex: number, count: number) {
    const after = startIndex > 1 ? this.cursors.get(startIndex) : undefined;
    const { rows, total } = await this.store.read(async (r) => ({
      rows: after !== undefined ? await r.users.page(after, count) : await r.users.page(undefined, count, startIndex - 1),
      total: (await r.users.query([], 0, 0)).total,
    }));
    if (rows.length > 0) {
      this.cursors.set(startIndex + rows.length, rows[rows.length - 1]!.id);
      if (this.cursors.size > 64) this.cursors.delete(this.cursors.keys().next().value!);
    }
    return { total, startIndex, views: rows.map((r) => indexedView(r)) };
  }

  /**
   * Filters are answered from the index, which holds externalId and emails even where
   * FullStory does not. A miss on a filter FullStory can run is asked upstream too, so
   * a teammate who existed before the bridge is found rather than duplicated.
   */
  private async filtered(terms: EqTerm[], startIndex: number, count: number) {
    const { rows, total } = await this.store.read((r) => r.users.query(terms, startIndex - 1, count));
    if (total > 0) return { total, startIndex, views: rows.map((r) => indexedView(r)) };
    // A complete index has every FullStory user: a miss is a miss.
    if (this.deps.index?.complete()) return { total: 0, startIndex, views: [] };
    const upstreamable = terms.every((t) => t.type === undefined && this.deps.capabilities().filters.has(t.key.toLowerCase()));
    if (!upstreamable || terms.some((t) => typeof t.value !== 'string')) return { total: 0, startIndex, views: [] };
    const expr = terms.map((t) => `${t.key} eq ${JSON.stringify(t.value)}`).join(' and ');
    const page = await callUpstream(() => this.api.listUsers(1, MAX_PAGE, expr));
    const found = page.Resources ?? [];
    if (found.length === 0) return { total: 0, startIndex, views: [] };
    await this.adopt(found);
    const again = await this.store.read((r) => r.users.query(terms, startIndex - 1, count));
    return { total: again.total, startIndex, views: again.rows.map((r) => viewOf(r)) };
  }

  /**
   * A filter the index cannot answer, or a sorted list: every indexed user (narrowed by
   * the index where the filter allows), matched as the IdP would read it, then paged.
   */
  private async scanned(terms: EqTerm[], match: ((r: JsonObject) => boolean) | undefined, q: ListQuery, startIndex: number, count: number) {
    // Index terms narrow it to a few rows; without them, the whole index by key.
    const pages =
      terms.length > 0
        ? offsetPages((offset, limit) => this.store.read((r) => r.users.query(terms, offset, limit)).then((p) => p.rows))
        : keysetPages(
            (after, limit) => this.store.read((r) => r.users.page(after, limit)),
            (row) => row.id,
          );
    const rows = await scan(
      pages,
      (row) => ({ ...row.resource, id: row.id, meta: { resourceType: 'User', created: row.createdAt, lastModified: row.updatedAt } }),
      {
        match,
        sortBy: q.sortBy,
        descending: q.descending === true,
        order: byCreation,
      },
    );
    return { total: rows.length, startIndex, views: rows.slice(startIndex - 1, startIndex - 1 + count).map((r) => viewOf(r)) };
  }
}
