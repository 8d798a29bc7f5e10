import type { FullStoryApi } from '../api.js';
import type { Capabilities } from '../preflight.js';
import { recordWrite, type WriteRecorder } from '../writes.js';
import { RoleNotApplied, type DeliveryResult, type Locks, type RoleChange, type RoleDelivery } from './delivery.js';
import { VERIFIED_NOTE } from './modes.js';
import { NamedGroups } from './named-groups.js';

/** An IdP group the mapping names, with its members' FullStory ids. */
export interface MirroredGroup {
  displayName: string;
  members: readonly string[];
}

/**
 * Groups passthrough: FullStory's own table from group names to roles decides, so the
 * IdP's mapped groups are mirrored to FullStory's /Groups under their own names, each
 * made to hold exactly the IdP's members by a whole-group PUT (FullStory has no group
 * PATCH) under a lock that holds across replicas. Every batch re-mirrors every mapped
 * group whose members differ, so a membership change that moved no role is carried by
 * the next one. What FullStory makes of the membership, SCIM cannot show.
 */
export class GroupsPassthroughDelivery implements RoleDelivery {
  readonly batched = true;
  private readonly named: NamedGroups;

  constructor(
    private readonly api: FullStoryApi,
    locks: Locks,
    capabilities: () => Capabilities,
    private readonly mapped: () => Promise<MirroredGroup[]>,
    private readonly record: WriteRecorder = () => {},
  ) {
    this.named = new NamedGroups(api, locks, capabilities, record, 'fs-mirror-group');
  }

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    let error: Error | null = null;
    for (const group of await this.mapped()) {
      try {
        const create = group.members.length > 0 && 'created (mirror of the IdP group)';
        await this.named.withGroup(group.displayName, create, (id) => this.mirror(id, group));
      } catch (err) {
        error ??= err as Error;
      }
    }
    return new Map(changes.map((c) => [c.userId, error]));
  }

  private async mirror(id: string, group: MirroredGroup): Promise<void> {
    const current = await this.api.getGroup(id);
    const before = new Set((current.members ?? []).map((m) => m.value));
    const wanted = new Set(group.members);
    const added = [...wanted].filter((m) => !before.has(m)).length;
    const removed = [...before].filter((m) => !wanted.has(m)).length;
    if (added === 0 && removed === 0) return;
    const facts = {
      operation: 'groups.replace' as const,
      group: current.displayName,
      change: `+${added} −${removed} members (mirror)`,
      detail: VERIFIED_NOTE.membership,
    };
    const answer = await recordWrite(this.record, facts, () =>
      this.api.replaceGroup({ id, displayName: current.displayName, members: [...wanted].map((value) => ({ value })) }),
    );
    const kept = new Set((answer.members ?? (await this.api.getGroup(id)).members ?? []).map((m) => m.value));
    if (kept.size !== wanted.size || [...wanted].some((m) => !kept.has(m)))
      throw new RoleNotApplied(`FullStory did not keep the membership the bridge wrote to its ${current.displayName} group`, false);
  }
}
