import type { FullStoryApi } from '../api.js';
import type { Capabilities } from '../preflight.js';
import type { WriteRecorder } from '../writes.js';
import { RoleNotApplied, type DeliveryResult, type Locks, type RoleChange, type RoleDelivery } from './delivery.js';
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
    api: FullStoryApi,
    locks: Locks,
    capabilities: () => Capabilities,
    private readonly mapped: () => Promise<MirroredGroup[]>,
    record: WriteRecorder = () => {},
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
    const wanted = new Set(group.members);
    const kept = await this.named.rewrite(id, () => new Set(wanted), 'mirror');
    if (kept && (kept.size !== wanted.size || [...wanted].some((m) => !kept.has(m))))
      throw new RoleNotApplied(`FullStory did not keep the membership the bridge wrote to its ${group.displayName} group`, false);
  }
}
