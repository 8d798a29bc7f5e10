import type { FsUser } from '../../fullstory/api.js';
import { UpstreamError } from '../../fullstory/errors.js';
import { recordWrite, type FullStoryWrite } from '../../fullstory/writes.js';
import { decodeRoles } from '../../fullstory/roles/wire.js';
import { ScimError } from '../../scim/errors.js';
import type { UserResource } from '../../scim/user.js';
import type { UserRow } from '../../store/store.js';
import { fromUpstream, isActive, toUpstream } from '../user-mapping.js';
import { upstreamToScim } from '../upstream-errors.js';
import { callUpstream } from './calls.js';
import type { OpContext, UsersServiceDeps } from './types.js';

const DUPLICATE = 'User already exists in the database.';

/**
 * The users' writes as FullStory takes them: each one recorded in the operation's writes
 * (the audit log's rows), a create that never duplicates, a deactivation with or without
 * PATCH, and the `roles` a PUT must carry where FullStory resets what a PUT omits.
 */
export class UpstreamWrites {
  constructor(
    private readonly deps: UsersServiceDeps,
    /** Indexes users FullStory holds that the bridge never saw (a 409 on create finds one). */
    private readonly adopt: (users: readonly FsUser[]) => Promise<UserRow[]>,
  ) {}

  private get api() {
    return this.deps.api;
  }

  /**
   * One FullStory write: translated and noted as `upstream` is, and recorded in the
   * operation's writes (the audit log's rows); in shadow mode recorded as not sent.
   */
  written<T>(ctx: OpContext, facts: Omit<FullStoryWrite, 'upstreamStatus' | 'ok'>, run: () => Promise<T>): Promise<T> {
    const record = (w: FullStoryWrite) => (ctx.writes ??= []).push(w);
    return callUpstream(() => recordWrite(record, facts, run, this.deps.mode === 'shadow'));
  }

  /**
   * POST, and if its answer was lost (reset, timeout, 5xx), look the user up by
   * userName before any second POST, so a retry never creates a duplicate.
   */
  async createUpstream(resource: UserResource, roles: unknown[] | undefined, ctx: OpContext): Promise<FsUser> {
    const body = toUpstream(resource, roles);
    for (let attempt = 0; ; attempt++) {
      try {
        const fs = await recordWrite(
          (w) => (ctx.writes ??= []).push(w),
          { operation: 'users.create', userName: resource.userName, change: `created, active ${isActive(resource)}` },
          () => this.api.createUser(body),
          this.deps.mode === 'shadow',
        );
        return fs;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        if (err.status === 409) {
          // FullStory holds the userName and the index did not: adopt it, so the IdP's next lookup finds it.
          const existing = await this.api.findUserByUserName(resource.userName).catch(() => undefined);
          if (existing) await this.adopt([existing]);
          throw new ScimError(409, DUPLICATE, 'uniqueness');
        }
        if (!err.transient || err.status === 429 || attempt >= 2) throw upstreamToScim(err);
        const landed = await callUpstream(() => this.api.findUserByUserName(resource.userName));
        if (landed) {
          ctx.note = 'create answer lost; found the user by userName';
          return landed;
        }
      }
    }
  }

  async deactivateUpstream(row: UserRow, ctx: OpContext): Promise<void> {
    const { id } = row;
    const facts = { userId: id, userName: row.userName, change: 'active true → false (deleted in the IdP)' };
    if (this.deps.capabilities().patchUsers) {
      await this.written(ctx, { operation: 'users.patch', ...facts }, () => this.api.patchUser(id, [{ op: 'replace', path: 'active', value: false }]));
      return;
    }
    const fs = await callUpstream(() => this.api.getUser(id));
    const roles = await this.putRoles(id, row.role, fs);
    await this.written(ctx, { operation: 'users.replace', ...facts }, () =>
      this.api.replaceUser(id, { ...toUpstream(fromUpstream(fs), roles), active: false }),
    );
  }

  /**
   * `roles` for a PUT, where roles travel in `roles`: a FullStory whose PUT replaces the
   * whole user (spec #23) would reset an omitted role, so the bridge's role is sent, or
   * for a teammate it does not manage, the role FullStory holds.
   */
  async putRoles(id: string, role: string | null, fs: FsUser | undefined): Promise<unknown[] | undefined> {
    if (this.deps.roles.delivery !== 'roles-attribute') return undefined;
    if (role !== null && !this.deps.roles.foreignSeen) return this.deps.roles.bodyRoles(role);
    const current = fs ?? (await callUpstream(() => this.api.getUser(id)));
    // A role outside the five (Umbrella Admin) is FullStory's own: sent back as it is.
    if (role !== null && decodeRoles(current.roles).kind !== 'other') return this.deps.roles.bodyRoles(role);
    return Array.isArray(current.roles) && current.roles.length > 0 ? current.roles : undefined;
  }
}
