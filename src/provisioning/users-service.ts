import type { FsUser } from '../fullstory/api.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import { identityKey } from '../lib/identity-text.js';
import { ScimError } from '../scim/errors.js';
import { parsePatchBody } from '../scim/patch.js';
import { normaliseUser, type UserResource } from '../scim/user.js';
import { applyUserPatch } from '../scim/user-patch.js';
import { UniquenessConflict, VersionConflict } from '../store/errors.js';
import type { UserRow } from '../store/store.js';
import { asFullStorySees } from './entra-tombstone.js';
import { isActive, mergeUpstream, toUpstreamPut, upstreamDiff } from './user-mapping.js';
import { activeChange, callUpstream, createdOf, showsRole, viewOf } from './users/calls.js';
import { UserReads } from './users/reads.js';
import { checkPrecondition, type ListQuery, type OpContext, type UsersServiceDeps, type UserView } from './users/types.js';
import { UpstreamWrites } from './users/upstream-writes.js';

export { checkPrecondition, type ListQuery, type OpContext, type UsersServiceDeps, type UserView } from './users/types.js';

const DUPLICATE = 'User already exists in the database.';

/** FullStory's userName for a user as the index last saw it (its copy is kept where it differs from the IdP's). */
const upstreamUserName = (row: UserRow): string | undefined => (typeof row.upstream?.userName === 'string' ? row.upstream.userName : undefined);
const ENTRA_NOTE = "Entra's soft-delete rename (object id + userName) or its restore: kept by the bridge; FullStory keeps the teammate's userName";

/**
 * The rules for users. FullStory is the system of record; the index keeps what
 * FullStory does not, answers the filters FullStory cannot, and serialises writes
 * per user. Nothing is answered 2xx before FullStory accepted it. Reads are
 * `users/reads.ts`'s, FullStory's side of a write `users/upstream-writes.ts`'s.
 */
export class UsersService {
  /** Writes to one user (or one userName) queue behind each other here; across replicas, versions decide. */
  private readonly queue = new KeyedMutex();
  private readonly reads: UserReads;
  private readonly writes: UpstreamWrites;

  constructor(private readonly deps: UsersServiceDeps) {
    this.reads = new UserReads(deps);
    this.writes = new UpstreamWrites(deps, (users) => this.reads.adopt(users));
  }

  private get store() {
    return this.deps.store;
  }
  private get api() {
    return this.deps.api;
  }

  get(id: string): Promise<UserView> {
    return this.reads.get(id);
  }

  list(query: ListQuery): Promise<{ total: number; startIndex: number; views: UserView[] }> {
    return this.reads.list(query);
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
      if (existing && !(await this.goneUpstream(existing.id))) throw new ScimError(409, DUPLICATE, 'uniqueness');

      const fs = await this.writes.createUpstream(resource, this.deps.roles.bodyRoles(role), ctx);
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
  private async goneUpstream(id: string): Promise<boolean> {
    try {
      await callUpstream(() => this.api.getUser(id));
      return false;
    } catch (err) {
      if (!(err instanceof ScimError) || err.status !== 404) throw err;
      await this.store.transaction((tx) => tx.users.delete(id, false));
      return true;
    }
  }

  /** The IdP re-creates a user it deleted where FullStory could only deactivate: reuse it. */
  private async revive(row: UserRow, resource: UserResource, role: string | null, ctx: OpContext): Promise<UserView> {
    const roles = await this.writes.putRoles(row.id, role, undefined);
    const fs = await this.writes.written(
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
    return viewOf((await this.store.read((r) => r.users.get(row.id)))!, fs);
  }

  async replace(id: string, body: unknown, ctx: OpContext): Promise<UserView> {
    const resource = normaliseUser(body);
    ctx.subject = resource.userName;
    return this.writeUser(id, async () => {
      const { row, fs: adopted } = await this.reads.row(id);
      checkPrecondition(ctx, row.version);
      await this.assertUserNameFree(resource.userName, id);
      if (row.active && !isActive(resource)) await this.admit(row, 'deactivate', ctx);
      // A PUT that changes nothing FullStory keeps costs no call, where the index is fresh.
      // Entra's soft-delete rename (and its restore) is the bridge's to keep: FullStory keeps its userName.
      const seen = asFullStorySees(row.resource, resource, adopted?.userName ?? upstreamUserName(row));
      if (seen.tombstone) ctx.note = ENTRA_NOTE;
      if (this.deps.index?.fresh() && upstreamDiff(seen.before, seen.after).length === 0) return { row, after: resource, fs: undefined };
      const roles = await this.writes.putRoles(id, row.role, adopted);
      const fs = await this.writes.written(
        ctx,
        { operation: 'users.replace', userId: id, userName: resource.userName, change: activeChange(row.resource, resource) },
        () => this.api.replaceUser(id, toUpstreamPut(seen.after, seen.before, roles)),
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
          return viewOf({ ...row, version: row.version + 1 }, fs, after);
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
      const { row, fs: adoptedFrom } = await this.reads.row(id);
      ctx.subject = row.userName;
      checkPrecondition(ctx, row.version);
      const caps = this.deps.capabilities();
      // Without PATCH upstream the whole user is PUT: from FullStory's copy, or the index's when it is fresh.
      const fsNow = caps.patchUsers || this.deps.index?.fresh() ? adoptedFrom : (adoptedFrom ?? (await callUpstream(() => this.api.getUser(id))));
      const before = mergeUpstream(row.resource, fsNow);
      const after = applyUserPatch(before, ops, id);
      if (after.userName !== before.userName) await this.assertUserNameFree(after.userName, id);
      let fs: FsUser | undefined = fsNow;
      // Entra's soft-delete rename (and its restore) is the bridge's to keep: FullStory keeps its userName.
      const seen = asFullStorySees(before, after, fsNow?.userName ?? upstreamUserName(row));
      if (seen.tombstone) ctx.note = ENTRA_NOTE;
      const diff = upstreamDiff(seen.before, seen.after);
      if (isActive(before) && !isActive(after)) await this.admit(row, 'deactivate', ctx);
      if (diff.length > 0) {
        const facts = { userId: id, userName: seen.after.userName, change: activeChange(before, after) };
        if (caps.patchUsers) {
          fs = await this.writes.written(ctx, { operation: 'users.patch', ...facts }, () => this.api.patchUser(id, diff));
        } else {
          const roles = await this.writes.putRoles(id, row.role, fsNow);
          fs = await this.writes.written(ctx, { operation: 'users.replace', ...facts }, () =>
            this.api.replaceUser(id, toUpstreamPut(seen.after, seen.before, roles)),
          );
        }
      }
      return { row, after, fs };
    });
  }

  async delete(id: string, ctx: OpContext): Promise<void> {
    await this.queue.run(`user:${id}`, async () => {
      const { row } = await this.reads.row(id).catch(async (err: unknown) => {
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
        await this.writes.written(ctx, { operation: 'users.delete', userId: id, userName: row.userName, change: 'deleted' }, () => this.api.deleteUser(id));
      } else {
        // FullStory cannot delete: deactivate (frees the seat) and remember the IdP deleted it.
        await this.writes.deactivateUpstream(row, ctx);
        tombstone = true;
        ctx.note = this.deps.mode === 'shadow' ? 'shadow mode: recorded, FullStory not changed' : 'FullStory has no DELETE: the user was deactivated instead';
      }
      await this.store.transaction((tx) => tx.users.delete(id, tombstone));
    });
  }

  /** Asks the guard to let a deprovisioning through (throws its 503 when it holds it). */
  private async admit(row: UserRow, kind: 'deactivate' | 'delete', ctx: OpContext): Promise<void> {
    const { guard, lastAdmin } = this.deps;
    if (!guard || ctx.released) return;
    await guard.refuseRejected(row, kind);
    if (!guard.enabled) return;
    const last = row.role === 'admin' && lastAdmin !== undefined && !(await lastAdmin.othersExist(new Set([row.id])));
    try {
      await guard.admit({ userId: row.id, userName: row.userName, kind, currentRole: row.role, tokenName: ctx.tokenName ?? null, lastAdmin: last });
    } catch (err) {
      if (err instanceof ScimError && err.status === 503) ctx.held = true;
      throw err;
    }
  }

  private async assertUserNameFree(userName: string, id: string): Promise<void> {
    const other = await this.store.read((r) => r.users.findByUserName(userName));
    if (other && other.id !== id) throw new ScimError(409, `userName ${JSON.stringify(userName)} is taken by another user`, 'uniqueness');
  }
}
