import type { FullStoryApi } from '../api.js';
import type { Capabilities } from '../preflight.js';
import { ROLES, type Role } from '../../config/roles.js';
import type { WriteRecorder } from '../writes.js';
import type { RoleChannel } from './channel.js';
import { refusal, RoleNotApplied, type DeliveryResult, type Locks, type RoleChange, type RoleDelivery } from './delivery.js';
import { NamedGroups } from './named-groups.js';
import { decodeRoles, ROLE_NAME } from './wire.js';

/**
 * Roles travel as membership of FullStory groups named after them. FullStory has no
 * group PATCH, so each role group is read and PUT whole, under a lock that holds across
 * replicas, once per batch: a user ends in exactly one role group and no concurrent
 * change to a role group is lost. Role groups are kept by id, found by listing where
 * FullStory runs no filter on /Groups, and created at most once.
 */
export class RoleGroupsDelivery implements RoleDelivery {
  readonly batched = true;
  private readonly named: NamedGroups;

  constructor(
    private readonly api: FullStoryApi,
    locks: Locks,
    capabilities: () => Capabilities,
    private readonly channel: RoleChannel,
    record: WriteRecorder = () => {},
  ) {
    const roleOfName = new Map(ROLES.map((r) => [ROLE_NAME[r], r]));
    this.named = new NamedGroups(api, locks, capabilities, record, 'fs-role-group', (name) => capabilities().roleGroups.get(roleOfName.get(name)!));
  }

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

  /** One role group made to hold exactly the batch's users who want this role. */
  private settle(role: Role, users: Map<string, string>, create: boolean): Promise<void> {
    return this.named.withGroup(ROLE_NAME[role], create && `created (role ${role})`, (id) => this.rewrite(id, role, users));
  }

  private async rewrite(id: string, role: Role, users: Map<string, string>): Promise<void> {
    // Only the batch's users move: everyone else in the group stays as FullStory has them.
    const edit = (current: ReadonlySet<string>) => {
      const next = new Set(current);
      for (const [userId, desired] of users) {
        if (desired === role) next.add(userId);
        else next.delete(userId);
      }
      return next;
    };
    const kept = await this.named.rewrite(id, edit, `role ${role}`);
    const wrong = kept ? [...users].filter(([userId, desired]) => (desired === role) !== kept.has(userId)) : [];
    if (wrong.length > 0)
      throw new RoleNotApplied(`FullStory did not keep the membership the bridge wrote to its ${ROLE_NAME[role]} group (${wrong.length} users differ)`, false);
  }
}
