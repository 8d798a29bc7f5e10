import type { FsGroup, FullStoryApi } from '../fullstory/api.js';
import { UpstreamError } from '../fullstory/errors.js';
import type { Capabilities } from '../fullstory/preflight.js';
import { ROLES, type Role } from '../config/roles.js';
import type { Store } from '../store/store.js';

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

/** Roles travel in the user's `roles` attribute: one write per user. */
export class RolesAttributeDelivery implements RoleDelivery {
  readonly batched = false;
  constructor(
    private readonly api: FullStoryApi,
    private readonly capabilities: () => Capabilities,
  ) {}

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    const results: DeliveryResult = new Map();
    await Promise.all(
      changes.map(async (c) => {
        try {
          const roles = [{ value: c.role }];
          if (this.capabilities().patchUsers) {
            await this.api.patchUser(c.userId, [{ op: 'replace', path: 'roles', value: roles }], 'sync');
          } else {
            const fs = await this.api.getUser(c.userId, 'sync');
            const { id: _id, meta: _meta, schemas: _schemas, ...rest } = fs;
            await this.api.replaceUser(c.userId, { ...rest, roles }, 'sync');
          }
          results.set(c.userId, null);
        } catch (err) {
          results.set(c.userId, err as Error);
        }
      }),
    );
    return results;
  }
}

const ROLE_GROUP_NAME: Record<Role, string> = { admin: 'Admin', architect: 'Architect', standard: 'Standard', explorer: 'Explorer', guest: 'Guest' };

/**
 * Roles travel as membership of FullStory groups named after them. FullStory has no
 * group PATCH, so each role group is read and PUT whole, under a lock that holds across
 * replicas, once per batch: a user ends in exactly one role group and no concurrent
 * change to a role group is lost.
 */
export class RoleGroupsDelivery implements RoleDelivery {
  readonly batched = true;
  private readonly ids = new Map<Role, string>();

  constructor(
    private readonly api: FullStoryApi,
    private readonly store: Store,
  ) {}

  private async groupId(role: Role): Promise<string> {
    const known = this.ids.get(role);
    if (known) return known;
    const name = ROLE_GROUP_NAME[role];
    const id = await this.store.withLock(`fs-role-group-create:${role}`, async () => {
      const found = await this.api.findGroup(name);
      return (found ?? (await this.api.createGroup(name))).id;
    });
    this.ids.set(role, id);
    return id;
  }

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    const results: DeliveryResult = new Map();
    const users = new Map(changes.map((c) => [c.userId, c.role]));
    // Highest role first: a promotion lands before the old group lets go.
    for (const role of ROLES) {
      let id: string;
      try {
        id = await this.groupId(role);
      } catch (err) {
        for (const c of changes) results.set(c.userId, err as Error);
        return results;
      }
      try {
        await this.store.withLock(`fs-role-group:${role}`, async () => {
          const group: FsGroup = await this.api.getGroup(id);
          const members = new Set((group.members ?? []).map((m) => m.value));
          let dirty = false;
          for (const [userId, desired] of users) {
            if (desired === role && !members.has(userId)) (members.add(userId), (dirty = true));
            if (desired !== role && members.delete(userId)) dirty = true;
          }
          if (dirty) await this.api.replaceGroup({ id, displayName: group.displayName, members: [...members].map((value) => ({ value })) });
        });
      } catch (err) {
        if (err instanceof UpstreamError && err.status === 404) this.ids.delete(role);
        for (const c of changes) if (!results.has(c.userId)) results.set(c.userId, err as Error);
      }
    }
    for (const c of changes) if (!results.has(c.userId)) results.set(c.userId, null);
    return results;
  }
}
