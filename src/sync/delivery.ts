import type { FsGroup, FsUser, FullStoryApi } from '../fullstory/api.js';
import { UpstreamError } from '../fullstory/errors.js';
import type { Capabilities } from '../fullstory/preflight.js';
import { droppedMessage, type RoleChannel } from '../fullstory/role-channel.js';
import { decodeRoles, encodeRoles, ROLE_NAME } from '../fullstory/role-wire.js';
import { ROLES, type Role } from '../config/roles.js';
import type { Store } from '../store/store.js';
import { recordWrite, type WriteRecorder } from '../fullstory/writes.js';

export interface RoleChange {
  userId: string;
  role: string;
}

/** Per change: done, or the error that stopped it. */
export type DeliveryResult = Map<string, UpstreamError | Error | null>;

export interface RoleDelivery {
  /** True when one call settles many users at once (role groups): hand it whole batches. */
  readonly batched: boolean;
  deliver(changes: RoleChange[]): Promise<DeliveryResult>;
}

/**
 * FullStory accepted a role write and does not show the role: the change is not done.
 * `retrySoon` when the bridge has since changed how it delivers roles.
 */
export class RoleNotApplied extends Error {
  override name = 'RoleNotApplied';
  constructor(
    message: string,
    readonly retrySoon: boolean,
  ) {
    super(message);
  }
}

const refusal = (err: unknown) => err instanceof UpstreamError && err.status === 400;

/** Roles travel in the user's `roles` attribute: one write per user, each read back, each audited with what the read-back showed. */
export class RolesAttributeDelivery implements RoleDelivery {
  readonly batched = false;
  constructor(
    private readonly api: FullStoryApi,
    private readonly capabilities: () => Capabilities,
    private readonly channel: RoleChannel,
    private readonly record: WriteRecorder = () => {},
  ) {}

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    const results: DeliveryResult = new Map();
    await Promise.all(changes.map(async (c) => results.set(c.userId, await this.deliverOne(c))));
    return results;
  }

  private async deliverOne(c: RoleChange): Promise<Error | null> {
    for (;;) {
      const form = this.channel.form;
      const patch = this.capabilities().patchUsers;
      const operation = patch ? 'users.patch' : 'users.replace';
      let answer: FsUser | undefined;
      try {
        // Without PATCH the user is read first, and PUT whole with its role.
        const current = patch ? undefined : await this.api.getUser(c.userId, 'sync');
        answer = await this.write(c.userId, encodeRoles(c.role as Role, form), current);
      } catch (err) {
        if (err instanceof UpstreamError) this.audit(c, operation, err.status, err);
        // A guessed form FullStory refuses: try the next before calling the change failed.
        if (refusal(err) && this.channel.refuseForm(form)) continue;
        return err as Error;
      }
      const error = await this.verify(c, answer).catch((err: Error) => err);
      this.audit(c, operation, patch && answer === undefined ? 204 : 200, error);
      return error;
    }
  }

  /** One row per write: FullStory's status, and whether its answer or a read-back showed the role. */
  private audit(c: RoleChange, operation: 'users.patch' | 'users.replace', status: number, error: Error | null): void {
    this.record({
      operation,
      userId: c.userId,
      change: `role → ${c.role}`,
      upstreamStatus: status,
      ok: error === null,
      ...(error ? { detail: error.message } : { detail: 'role shown by FullStory (read back)' }),
    });
  }

  private async write(userId: string, roles: unknown[], current: FsUser | undefined): Promise<FsUser | undefined> {
    if (!current) return this.api.patchUser(userId, [{ op: 'replace', path: 'roles', value: roles as never }], 'sync');
    const { id: _id, meta: _meta, schemas: _schemas, ...rest } = current;
    return this.api.replaceUser(userId, { ...rest, roles }, 'sync');
  }

  /** Done only when FullStory's answer, or a read-back, shows the role. */
  private async verify(c: RoleChange, answer: FsUser | undefined): Promise<Error | null> {
    let seen = decodeRoles(answer?.roles);
    if (seen.kind !== 'role') seen = decodeRoles((await this.api.getUser(c.userId, 'sync')).roles);
    if (seen.kind === 'role' && seen.role === c.role) return null;
    if (seen.kind === 'role') return new RoleNotApplied(`FullStory kept the role ${seen.role} after the bridge wrote ${c.role}`, false);
    this.channel.observeDropped();
    return new RoleNotApplied(droppedMessage(this.channel.setting, this.channel.groups), this.channel.delivery !== 'roles-attribute');
  }
}

/**
 * Roles travel as membership of FullStory groups named after them. FullStory has no
 * group PATCH, so each role group is read and PUT whole, under a lock that holds across
 * replicas, once per batch: a user ends in exactly one role group and no concurrent
 * change to a role group is lost. Role groups are kept by id, found by listing where
 * FullStory runs no filter on /Groups, and created at most once.
 */
export class RoleGroupsDelivery implements RoleDelivery {
  readonly batched = true;
  private readonly ids = new Map<Role, string>();
  /** Ids FullStory answered 404 for: preflight's word on them is out of date. */
  private readonly gone = new Set<string>();

  constructor(
    private readonly api: FullStoryApi,
    private readonly store: Store,
    private readonly capabilities: () => Capabilities,
    private readonly channel: RoleChannel,
    private readonly record: WriteRecorder = () => {},
  ) {}

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    const results = await this.deliverBatch(changes);
    await this.sampleReadBack(changes, results);
    // One user FullStory refuses (a 400 on the whole group) must not hold up the rest.
    if (changes.length > 1 && changes.some((c) => refusal(results.get(c.userId)))) {
      for (const c of changes) if (refusal(results.get(c.userId))) results.set(c.userId, (await this.deliverBatch([c])).get(c.userId) ?? null);
    }
    return results;
  }

  /**
   * One user of the batch read back: a FullStory that shows it holding another role in
   * `roles` carries roles there, not in groups (the channel learns it from the read).
   * Where delivery then changes, the batch is not done and is retried the other way.
   */
  private async sampleReadBack(changes: RoleChange[], results: DeliveryResult): Promise<void> {
    const sample = changes.find((c) => results.get(c.userId) === null);
    if (!sample) return;
    let seen: ReturnType<typeof decodeRoles>;
    try {
      seen = decodeRoles((await this.api.getUser(sample.userId, 'sync')).roles);
    } catch {
      return; // the membership was written and verified; a failed look is not a failed delivery
    }
    if (seen.kind !== 'role' || seen.role === sample.role || this.channel.delivery === 'role-groups') return;
    const err = new RoleNotApplied(
      `FullStory shows users' roles in \`roles\` (${sample.userId} holds ${seen.role}, not ${sample.role}): its groups do not carry roles; the bridge now writes \`roles\``,
      true,
    );
    for (const c of changes) if (results.get(c.userId) === null) results.set(c.userId, err);
  }

  private async deliverBatch(changes: RoleChange[]): Promise<DeliveryResult> {
    const results: DeliveryResult = new Map();
    const users = new Map(changes.map((c) => [c.userId, c.role]));
    const needed = new Set(changes.map((c) => c.role));
    // Highest role first: a promotion lands before the old group lets go.
    for (const role of ROLES) {
      try {
        await this.settle(role, users, needed.has(role));
      } catch (err) {
        for (const c of changes) if (!results.has(c.userId)) results.set(c.userId, err as Error);
      }
    }
    for (const c of changes) if (!results.has(c.userId)) results.set(c.userId, null);
    return results;
  }

  /** One role group made to hold exactly the batch's users who want this role; found again once after a 404. */
  private async settle(role: Role, users: Map<string, string>, create: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const id = await this.locate(role, create);
      if (!id) return; // no such group, and nobody to add: nothing to remove either
      try {
        await this.store.withLock(`fs-role-group:${role}`, () => this.rewrite(id, role, users));
        return;
      } catch (err) {
        if (!(err instanceof UpstreamError && err.status === 404) || attempt > 0) throw err;
        this.gone.add(id);
        this.ids.delete(role);
      }
    }
  }

  private async rewrite(id: string, role: Role, users: Map<string, string>): Promise<void> {
    const group: FsGroup = await this.api.getGroup(id);
    const members = new Set((group.members ?? []).map((m) => m.value));
    let dirty = false;
    for (const [userId, desired] of users) {
      if (desired === role && !members.has(userId)) {
        members.add(userId);
        dirty = true;
      }
      if (desired !== role && members.delete(userId)) dirty = true;
    }
    if (!dirty) return;
    const before = new Set((group.members ?? []).map((m) => m.value));
    const added = [...members].filter((m) => !before.has(m)).length;
    const change = `+${added} −${before.size - (members.size - added)} members (role ${role})`;
    const answer = await recordWrite(this.record, { operation: 'groups.replace', group: group.displayName, change }, () =>
      this.api.replaceGroup({ id, displayName: group.displayName, members: [...members].map((value) => ({ value })) }),
    );
    const kept = new Set((answer.members ?? (await this.api.getGroup(id)).members ?? []).map((m) => m.value));
    const wrong = [...users].filter(([userId, desired]) => (desired === role) !== kept.has(userId));
    if (wrong.length > 0)
      throw new RoleNotApplied(`FullStory did not keep the membership the bridge wrote to its ${ROLE_NAME[role]} group (${wrong.length} users differ)`, false);
  }

  /** The role group's id: known, seen by preflight, found in FullStory, or (when needed) created once. */
  private async locate(role: Role, create: boolean): Promise<string | undefined> {
    const seen = this.capabilities().roleGroups.get(role);
    const known = this.ids.get(role) ?? (seen && !this.gone.has(seen) ? seen : undefined);
    if (known) return known;
    return this.store.withLock(`fs-role-group-create:${role}`, async () => {
      const filters = { filters: this.capabilities().groupFilters };
      let found = await this.api.findGroup(ROLE_NAME[role], filters);
      if (!found && create) {
        try {
          found = await recordWrite(this.record, { operation: 'groups.create', group: ROLE_NAME[role], change: `created (role ${role})` }, () =>
            this.api.createGroup(ROLE_NAME[role]),
          );
        } catch (err) {
          // Another replica (or FullStory itself) made it meanwhile: take that one.
          if (!(err instanceof UpstreamError && err.status === 409)) throw err;
          found = await this.api.findGroup(ROLE_NAME[role], filters);
          if (!found) throw err;
        }
      }
      if (found) {
        this.ids.set(role, found.id);
        this.gone.delete(found.id);
      }
      return found?.id;
    });
  }
}

/**
 * Delivers each batch the way the channel's evidence says FullStory carries roles now;
 * with nothing to go on yet, one user is read first, which is evidence enough.
 */
export class AdaptiveDelivery implements RoleDelivery {
  constructor(
    private readonly channel: RoleChannel,
    private readonly api: FullStoryApi,
    private readonly attribute: RoleDelivery,
    private readonly groups: RoleDelivery,
  ) {}

  get batched(): boolean {
    return this.channel.delivery === 'role-groups';
  }

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    if (this.channel.delivery === undefined && changes[0]) {
      try {
        await this.api.getUser(changes[0].userId, 'sync');
      } catch (err) {
        return new Map(changes.map((c) => [c.userId, err as Error]));
      }
    }
    return this.channel.delivery === 'role-groups' ? this.groups.deliver(changes) : this.attribute.deliver(changes);
  }
}
