import type { FsUser, FullStoryApi } from '../fullstory/api.js';
import { UpstreamError } from '../fullstory/errors.js';
import { recordWrite, type FullStoryWrite } from '../fullstory/writes.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { RoleChannel } from '../fullstory/role-channel.js';
import { decodeRoles } from '../fullstory/role-wire.js';
import { MAX_PAGE } from '../scim/constants.js';
import { ScimError } from '../scim/errors.js';
import { parseFilter, type EqTerm } from '../scim/filter.js';
import type { JsonObject } from '../scim/values.js';
import { keysetPages, offsetPages, scan } from './scan.js';
import { parsePatchBody } from '../scim/patch.js';
import { filterableUserAttr, normaliseUser, type UserResource } from '../scim/user.js';
import { applyUserPatch } from '../scim/user-patch.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { UniquenessConflict, VersionConflict } from '../store/errors.js';
import type { Store } from '../store/store.js';
import { USER_FILTER_VOCABULARY, type UserRow } from '../store/store.js';
import type { RolePolicy } from './role-policy.js';
import { fromUpstream, isActive, mergeUpstream, toUpstream, toUpstreamPut, upstreamDiff } from './user-mapping.js';
import { upstreamToScim } from './upstream-errors.js';
import type { DeprovisionGuard } from './guard.js';
import type { LastAdmin } from './last-admin.js';
import type { IndexRefresh } from './index-refresh.js';
import { identityKey } from '../lib/identity-text.js';

/** What a user operation returns: the IdP's view, ready to render. */
export interface UserView {
  id: string;
  resource: UserResource;
  created: string;
  lastModified: string;
  version: number;
}

/** Filled in while an operation runs, for the audit log. */
export interface OpContext {
  upstreamStatus?: number;
  note?: string;
  /** Who or what was changed, in words: a userName or a group name. */
  subject?: string;
  /** The detail of the error the IdP was answered with. */
  error?: string;
  /** If-Match: the version the change is for; checked against the current one before anything is written. */
  precondition?: (version: number) => boolean;
  /** The IdP token's name, for a hold's record. */
  tokenName?: string;
  /** A change the guard held and an operator released: it is not counted again. */
  released?: boolean;
  /** Every FullStory write this operation made, in order: the audit log's rows. */
  writes?: FullStoryWrite[];
  /** The guard held this change (answered 503). */
  held?: boolean;
}

/** A change asked for another version than the resource's: RFC 7644 §3.14, and nothing changes. */
export function checkPrecondition(ctx: OpContext, version: number): void {
  if (ctx.precondition && !ctx.precondition(version)) throw new ScimError(412, `The resource is at version W/"${version}", not the one If-Match names`);
}

export interface ListQuery {
  filter?: string | undefined;
  startIndex: number;
  count: number;
  /** RFC 7644 §3.4.2.3: an attribute path to order by, and whether descending. */
  sortBy?: string | undefined;
  descending?: boolean;
  /** A search across resource types (POST /.search): an attribute this type lacks matches nothing, rather than 400. */
  anyAttribute?: boolean;
}

const DUPLICATE = 'User already exists in the database.';

export interface UsersServiceDeps {
  store: Store;
  api: FullStoryApi;
  capabilities: () => Capabilities;
  policy: RolePolicy;
  /** How FullStory carries roles: whether user bodies carry `roles`, and in which form. */
  roles: RoleChannel;
  /** Wakes the role-sync worker after an outbox write. */
  kick: () => void;
  /** shadow: nothing reaches FullStory (the api is a ShadowApi) and new ids are the bridge's own. */
  mode?: 'live' | 'shadow';
  /** Holds mass deactivations and deletions; none without one. */
  guard?: DeprovisionGuard;
  /** Asks FullStory whether an admin would remain. */
  lastAdmin?: LastAdmin;
  /** Whether the index is a complete, fresh copy of FullStory's users (then it answers alone). */
  index?: IndexRefresh;
  /** The role FullStory gives a new user that carries none (its plan's default). */
  newUserRole?: string;
}

/**
 * The rules for users. FullStory is the system of record; the index keeps what
 * FullStory does not, answers the filters FullStory cannot, and serialises writes
 * per user. Nothing is answered 2xx before FullStory accepted it.
 */
export class UsersService {
  /** Writes to one user (or one userName) queue behind each other here; across replicas, versions decide. */
  private readonly queue = new KeyedMutex();
  /** Where the import page starting at each index begins (the last id of the page before it). */
  private readonly cursors = new Map<number, string>();

  constructor(private readonly deps: UsersServiceDeps) {}

  private get store() {
    return this.deps.store;
  }
  private get api() {
    return this.deps.api;
  }

  private view(row: UserRow, fs?: FsUser, resource: UserResource = row.resource): UserView {
    return {
      id: row.id,
      resource: mergeUpstream(resource, fs),
      created: row.createdAt,
      lastModified: fs?.meta?.lastModified ?? row.updatedAt,
      version: row.version,
    };
  }

  /** A read answered from the index: what the IdP wrote, with FullStory's copy as the last refresh saw it. */
  private indexed(row: UserRow): UserView {
    return this.view(row, (row.upstream ?? undefined) as FsUser | undefined);
  }

  /** FullStory's call, with its failure translated and its status noted. */
  private async upstream<T>(ctx: OpContext, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof UpstreamError) {
        ctx.upstreamStatus = err.status;
        throw upstreamToScim(err);
      }
      throw err;
    }
  }

  /**
   * One FullStory write: translated and noted as `upstream` is, and recorded in the
   * operation's writes (the audit log's rows); in shadow mode recorded as not sent.
   */
  private written<T>(ctx: OpContext, facts: Omit<FullStoryWrite, 'upstreamStatus' | 'ok'>, run: () => Promise<T>): Promise<T> {
    const record = (w: FullStoryWrite) => (ctx.writes ??= []).push(w);
    return this.upstream(ctx, () => recordWrite(record, facts, run, this.deps.mode === 'shadow'));
  }

  /**
   * Indexes teammates FullStory holds that the bridge never saw (role null: not the
   * bridge's to manage until they join a mapped group) and returns their rows.
   */
  private async adopt(users: readonly FsUser[]): Promise<UserRow[]> {
    if (users.length === 0) return [];
    await this.store.transaction((tx) => tx.users.adopt(users.map((fs) => ({ id: fs.id, resource: fromUpstream(fs), role: null, ...createdOf(fs) }))));
    return this.store.read((r) => r.users.getMany(users.map((u) => u.id)));
  }

  /** The indexed row for id, adopting a user FullStory holds that the bridge never saw. */
  private async row(id: string, ctx: OpContext): Promise<{ row: UserRow; fs?: FsUser }> {
    const row = await this.store.read((r) => r.users.get(id));
    if (row?.deleted) throw new ScimError(404, `User ${id} not found`);
    if (row) return { row };
    const fs = await this.upstream(ctx, () => this.api.getUser(id));
    const [adopted] = await this.adopt([fs]);
    if (!adopted || adopted.deleted) throw new ScimError(404, `User ${id} not found`);
    return { row: adopted, fs };
  }

  async get(id: string): Promise<UserView> {
    const ctx: OpContext = {};
    const indexed = await this.store.read((r) => r.users.get(id));
    if (indexed?.deleted) throw new ScimError(404, `User ${id} not found`);
    // Recorded in shadow mode and not applied yet: FullStory has nothing to add.
    if (indexed && this.api.links.isPending(id)) return this.view(indexed);
    // A fresh index answers alone, with FullStory's word as its last refresh saw it.
    if (indexed && this.deps.index?.fresh()) return this.indexed(indexed);
    let fs: FsUser;
    try {
      fs = await this.upstream(ctx, () => this.api.getUser(id));
    } catch (err) {
      // Deleted in FullStory itself: forget it here too, so filters stop finding it.
      if (err instanceof ScimError && err.status === 404 && indexed) await this.store.transaction((tx) => tx.users.delete(id, false));
      throw err;
    }
    const row = indexed ?? (await this.adopt([fs]))[0];
    if (!row || row.deleted) throw new ScimError(404, `User ${id} not found`);
    return this.view(row, fs);
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
    const page = await this.upstream({}, () => this.api.listUsersFilled(startIndex, Math.max(count, 1)));
    const resources = (page.Resources ?? []).slice(0, count);
    const rows = new Map((await this.store.read((r) => r.users.getMany(resources.map((u) => u.id)))).map((r) => [r.id, r]));
    for (const r of await this.adopt(resources.filter((u) => !rows.has(u.id)))) rows.set(r.id, r);
    const views = resources.flatMap((fs) => {
      const row = rows.get(fs.id);
      return row && !row.deleted ? [this.view(row, fs)] : [];
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
    return { total, startIndex, views: rows.map((r) => this.indexed(r)) };
  }

  /**
   * Filters are answered from the index, which holds externalId and emails even where
   * FullStory does not. A miss on a filter FullStory can run is asked upstream too, so
   * a teammate who existed before the bridge is found rather than duplicated.
   */
  private async filtered(terms: EqTerm[], startIndex: number, count: number) {
    const { rows, total } = await this.store.read((r) => r.users.query(terms, startIndex - 1, count));
    if (total > 0) return { total, startIndex, views: rows.map((r) => this.indexed(r)) };
    // A complete index has every FullStory user: a miss is a miss.
    if (this.deps.index?.complete()) return { total: 0, startIndex, views: [] };
    const upstreamable = terms.every((t) => t.type === undefined && this.deps.capabilities().filters.has(t.key.toLowerCase()));
    if (!upstreamable || terms.some((t) => typeof t.value !== 'string')) return { total: 0, startIndex, views: [] };
    const expr = terms.map((t) => `${t.key} eq ${JSON.stringify(t.value)}`).join(' and ');
    const page = await this.upstream({}, () => this.api.listUsers(1, MAX_PAGE, expr));
    const found = page.Resources ?? [];
    if (found.length === 0) return { total: 0, startIndex, views: [] };
    await this.adopt(found);
    const again = await this.store.read((r) => r.users.query(terms, startIndex - 1, count));
    return { total: again.total, startIndex, views: again.rows.map((r) => this.view(r)) };
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
    return { total: rows.length, startIndex, views: rows.slice(startIndex - 1, startIndex - 1 + count).map((r) => this.view(r)) };
  }

  async create(body: unknown, ctx: OpContext): Promise<UserView> {
    const resource = normaliseUser(body);
    ctx.subject = resource.userName;
    // In this process one create per userName at a time; across replicas FullStory's and the index's uniqueness decide.
    return this.queue.run(`user-name:${identityKey(resource.userName)}`, async () => {
      const role = this.deps.policy.defaultRole;
      const existing = await this.store.read((r) => r.users.findByUserName(resource.userName));
      if (existing?.deleted) return this.revive(existing, resource, role, ctx);
      // A live row is a duplicate, unless FullStory itself deleted that user (then forgotten here).
      if (existing && !(await this.goneUpstream(existing.id, ctx))) throw new ScimError(409, DUPLICATE, 'uniqueness');

      const fs = await this.createUpstream(resource, this.deps.roles.bodyRoles(role), ctx);
      // A role FullStory's answer does not show is left to the worker, which writes and verifies it.
      // With role groups a new user is in none, so it holds FullStory's default role: nothing to write for that.
      const defaultByGroups = this.deps.roles.delivery === 'role-groups' && role === this.deps.newUserRole;
      const viaOutbox = role !== null && !showsRole(fs, role) && !defaultByGroups;
      try {
        await this.store.transaction(async (tx) => {
          await tx.users.insert({ id: fs.id, resource, role, ...createdOf(fs) });
          if (this.deps.mode === 'shadow') await tx.links.pending(fs.id);
          if (viaOutbox) await tx.roleSync.enqueue(new Map([[fs.id, role]]));
        });
        if (this.deps.mode === 'shadow') this.api.links.set(fs.id, null);
      } catch (err) {
        if (err instanceof UniquenessConflict) throw new ScimError(409, DUPLICATE, 'uniqueness');
        throw err;
      }
      if (viaOutbox) this.deps.kick();
      const now = new Date().toISOString();
      return {
        id: fs.id,
        resource: mergeUpstream(resource, fs),
        created: createdOf(fs).createdAt ?? now,
        lastModified: fs.meta?.lastModified ?? now,
        version: 1,
      };
    });
  }

  /** True (and the row forgotten) when FullStory no longer has a user the index still holds. */
  private async goneUpstream(id: string, ctx: OpContext): Promise<boolean> {
    try {
      await this.upstream(ctx, () => this.api.getUser(id));
      return false;
    } catch (err) {
      if (!(err instanceof ScimError) || err.status !== 404) throw err;
      await this.store.transaction((tx) => tx.users.delete(id, false));
      return true;
    }
  }

  /**
   * POST, and if its answer was lost (reset, timeout, 5xx), look the user up by
   * userName before any second POST, so a retry never creates a duplicate.
   */
  private async createUpstream(resource: UserResource, roles: unknown[] | undefined, ctx: OpContext): Promise<FsUser> {
    const body = toUpstream(resource, roles);
    for (let attempt = 0; ; attempt++) {
      try {
        const fs = await recordWrite(
          (w) => (ctx.writes ??= []).push(w),
          { operation: 'users.create', userName: resource.userName, change: `created, active ${isActive(resource)}` },
          () => this.api.createUser(body),
          this.deps.mode === 'shadow',
        );
        ctx.upstreamStatus = 201;
        return fs;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        ctx.upstreamStatus = err.status;
        if (err.status === 409) {
          // FullStory holds the userName and the index did not: adopt it, so the IdP's next lookup finds it.
          const existing = await this.api.findUserByUserName(resource.userName).catch(() => undefined);
          if (existing) await this.adopt([existing]);
          throw new ScimError(409, DUPLICATE, 'uniqueness');
        }
        if (!err.transient || err.status === 429 || attempt >= 2) throw upstreamToScim(err);
        const landed = await this.upstream(ctx, () => this.api.findUserByUserName(resource.userName));
        if (landed) {
          ctx.note = 'create answer lost; found the user by userName';
          return landed;
        }
      }
    }
  }

  /** The IdP re-creates a user it deleted where FullStory could only deactivate: reuse it. */
  private async revive(row: UserRow, resource: UserResource, role: string | null, ctx: OpContext): Promise<UserView> {
    const roles = await this.putRoles(row.id, role, undefined, ctx);
    const fs = await this.written(
      ctx,
      { operation: 'users.replace', userId: row.id, userName: resource.userName, change: 'active false → true (revived)' },
      () => this.api.replaceUser(row.id, toUpstreamPut({ active: true, ...resource }, row.resource, roles)),
    );
    await this.store.transaction(async (tx) => {
      await tx.users.update(row.id, resource);
      await tx.users.setRoles(new Map([[row.id, role]]));
      if (role && !showsRole(fs, role)) await tx.roleSync.enqueue(new Map([[row.id, role]]));
    });
    ctx.note = 'revived a user deleted earlier (FullStory had kept it deactivated)';
    return this.view((await this.store.read((r) => r.users.get(row.id)))!, fs);
  }

  async replace(id: string, body: unknown, ctx: OpContext): Promise<UserView> {
    const resource = normaliseUser(body);
    ctx.subject = resource.userName;
    return this.writeUser(id, async () => {
      const { row, fs: adopted } = await this.row(id, ctx);
      checkPrecondition(ctx, row.version);
      await this.assertUserNameFree(resource.userName, id);
      if (row.active && !isActive(resource)) await this.admit(row, 'deactivate', ctx);
      // A PUT that changes nothing FullStory keeps costs no call, where the index is fresh.
      if (this.deps.index?.fresh() && upstreamDiff(row.resource, resource).length === 0) return { row, after: resource, fs: undefined };
      const roles = await this.putRoles(id, row.role, adopted, ctx);
      const fs = await this.written(
        ctx,
        { operation: 'users.replace', userId: id, userName: resource.userName, change: activeChange(row.resource, resource) },
        () => this.api.replaceUser(id, toUpstreamPut(resource, row.resource, roles)),
      );
      return { row, after: resource, fs };
    });
  }

  /**
   * One write to one user: queued behind others in this process, and checked against
   * the version it read, so a replica that wrote meanwhile makes this one read, apply
   * and send again rather than overwrite (FullStory and the index end the same).
   */
  private async writeUser(id: string, attempt: () => Promise<{ row: UserRow; after: UserResource; fs: FsUser | undefined }>): Promise<UserView> {
    return this.queue.run(`user:${id}`, async () => {
      for (let tries = 0; tries < 5; tries++) {
        const { row, after, fs } = await attempt();
        try {
          await this.store.transaction((tx) => tx.users.update(id, after, row.version, row.resource));
          return this.view({ ...row, version: row.version + 1 }, fs, after);
        } catch (err) {
          if (!(err instanceof VersionConflict)) throw err;
        }
      }
      throw new ScimError(503, 'The user kept changing under this request; try again', undefined, 1);
    });
  }

  async patch(id: string, body: unknown, ctx: OpContext): Promise<UserView> {
    const ops = parsePatchBody(body);
    return this.writeUser(id, async () => {
      const { row, fs: adoptedFrom } = await this.row(id, ctx);
      ctx.subject = row.userName;
      checkPrecondition(ctx, row.version);
      const caps = this.deps.capabilities();
      // Without PATCH upstream the whole user is PUT: from FullStory's copy, or the index's when it is fresh.
      const fsNow = caps.patchUsers || this.deps.index?.fresh() ? adoptedFrom : (adoptedFrom ?? (await this.upstream(ctx, () => this.api.getUser(id))));
      const before = mergeUpstream(row.resource, fsNow);
      const after = applyUserPatch(before, ops, id);
      if (after.userName !== before.userName) await this.assertUserNameFree(after.userName, id);
      let fs: FsUser | undefined = fsNow;
      const diff = upstreamDiff(before, after);
      if (isActive(before) && !isActive(after)) await this.admit(row, 'deactivate', ctx);
      if (diff.length > 0) {
        const facts = { userId: id, userName: after.userName, change: activeChange(before, after) };
        if (caps.patchUsers) {
          fs = await this.written(ctx, { operation: 'users.patch', ...facts }, () => this.api.patchUser(id, diff));
        } else {
          const roles = await this.putRoles(id, row.role, fsNow, ctx);
          fs = await this.written(ctx, { operation: 'users.replace', ...facts }, () => this.api.replaceUser(id, toUpstreamPut(after, before, roles)));
        }
      }
      return { row, after, fs };
    });
  }

  async delete(id: string, ctx: OpContext): Promise<void> {
    await this.queue.run(`user:${id}`, async () => {
      const { row } = await this.row(id, ctx).catch(async (err: unknown) => {
        // The IdP retrying a deletion the guard held and an operator released: done already.
        if (err instanceof ScimError && err.status === 404 && (await this.store.read((r) => r.guard.heldFor(id, 'delete', 'released'))))
          return { row: undefined };
        throw err;
      });
      if (!row) return;
      ctx.subject = row.userName;
      checkPrecondition(ctx, row.version);
      if (row.active) await this.admit(row, 'delete', ctx);
      let tombstone = false;
      if (this.deps.capabilities().deleteUsers && this.deps.mode !== 'shadow') {
        await this.written(ctx, { operation: 'users.delete', userId: id, userName: row.userName, change: 'deleted' }, () => this.api.deleteUser(id));
      } else {
        // FullStory cannot delete: deactivate (frees the seat) and remember the IdP deleted it.
        await this.deactivateUpstream(row, ctx);
        tombstone = true;
        ctx.note = this.deps.mode === 'shadow' ? 'shadow mode: recorded, FullStory not changed' : 'FullStory has no DELETE: the user was deactivated instead';
      }
      await this.store.transaction((tx) => tx.users.delete(id, tombstone));
    });
  }

  /** Asks the guard to let a deprovisioning through (throws its 503 when it holds it). */
  private async admit(row: UserRow, kind: 'deactivate' | 'delete', ctx: OpContext): Promise<void> {
    const { guard, lastAdmin } = this.deps;
    if (!guard?.enabled || ctx.released) return;
    const last = row.role === 'admin' && lastAdmin !== undefined && !(await lastAdmin.othersExist(new Set([row.id])));
    try {
      await guard.admit({ userId: row.id, userName: row.userName, kind, currentRole: row.role, tokenName: ctx.tokenName ?? null, lastAdmin: last });
    } catch (err) {
      if (err instanceof ScimError && err.status === 503) ctx.held = true;
      throw err;
    }
  }

  private async deactivateUpstream(row: UserRow, ctx: OpContext): Promise<void> {
    const { id } = row;
    const facts = { userId: id, userName: row.userName, change: 'active true → false (deleted in the IdP)' };
    if (this.deps.capabilities().patchUsers) {
      await this.written(ctx, { operation: 'users.patch', ...facts }, () => this.api.patchUser(id, [{ op: 'replace', path: 'active', value: false }]));
      return;
    }
    const fs = await this.upstream(ctx, () => this.api.getUser(id));
    const roles = await this.putRoles(id, row.role, fs, ctx);
    await this.written(ctx, { operation: 'users.replace', ...facts }, () =>
      this.api.replaceUser(id, { ...toUpstream(fromUpstream(fs), roles), active: false }),
    );
  }

  /**
   * `roles` for a PUT, where roles travel in `roles`: a FullStory whose PUT replaces the
   * whole user (spec #23) would reset an omitted role, so the bridge's role is sent, or
   * for a teammate it does not manage, the role FullStory holds.
   */
  private async putRoles(id: string, role: string | null, fs: FsUser | undefined, ctx: OpContext): Promise<unknown[] | undefined> {
    if (this.deps.roles.delivery !== 'roles-attribute') return undefined;
    if (role !== null) return this.deps.roles.bodyRoles(role);
    const current = fs ?? (await this.upstream(ctx, () => this.api.getUser(id)));
    return Array.isArray(current.roles) && current.roles.length > 0 ? current.roles : undefined;
  }

  private async assertUserNameFree(userName: string, id: string): Promise<void> {
    const other = await this.store.read((r) => r.users.findByUserName(userName));
    if (other && other.id !== id) throw new ScimError(409, `userName ${JSON.stringify(userName)} is taken by another user`, 'uniqueness');
  }
}

/** `active true → false` where a write changes it; undefined where it does not. */
function activeChange(before: UserResource, after: UserResource): string | undefined {
  const [a, b] = [isActive(before), isActive(after)];
  return a === b ? undefined : `active ${a} → ${b}`;
}

/** FullStory's answer shows the user holding `role`. */
function showsRole(fs: FsUser | undefined, role: string): boolean {
  const r = decodeRoles(fs?.roles);
  return r.kind === 'role' && r.role === role;
}

/** The lists' usual order: oldest first, then by id. */
const byCreation = (a: UserRow, b: UserRow) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function createdOf(fs: FsUser): { createdAt?: string } {
  return typeof fs.meta?.created === 'string' ? { createdAt: fs.meta.created } : {};
}
