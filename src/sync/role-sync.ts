import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { RoleChannel } from '../fullstory/roles/channel.js';
import type { WriteRecorder } from '../fullstory/writes.js';
import type { Store } from '../store/store.js';
import { RolesAttributeDelivery } from '../fullstory/roles/attribute.js';
import { AdaptiveDelivery, type RoleDelivery } from '../fullstory/roles/delivery.js';
import { RoleGroupsDelivery } from '../fullstory/roles/groups.js';
import { GroupsPassthroughDelivery, type MirroredGroup } from '../fullstory/roles/passthrough.js';
import { SsoDelivery } from '../fullstory/roles/sso.js';
import { PlanGuardedDelivery } from '../fullstory/roles/plan-guard.js';
import type { PlanWord } from '../fullstory/plan-word.js';
import { DeliveryHealth } from './health.js';
import { RoleSyncWorker } from './worker.js';

export interface RoleSyncDeps {
  config: Config;
  store: Store;
  api: FullStoryApi;
  capabilities: () => Capabilities;
  channel: RoleChannel;
  logger: Logger;
  /** Every FullStory write the delivery makes, for the audit log. */
  record: WriteRecorder;
  onApplied: (ok: number, failed: number) => void;
  /** FullStory's word on its plan: roles it said the plan lacks are not asked for again. */
  planWord: PlanWord;
  onBlocked: (n: number) => void;
}

/**
 * Shadow mode: a role change is settled without FullStory. The role stays the bridge's
 * desired one (users.role), which `plan` compares with FullStory's, so going live
 * sends nothing by itself.
 */
const SHADOW_DELIVERY: RoleDelivery = {
  batched: true,
  deliver: async (changes) => new Map(changes.map((c) => [c.userId, null])),
};

/** The IdP groups the mapping names (those with a role), with their members: what groups passthrough mirrors. */
async function mappedGroups(store: Store): Promise<MirroredGroup[]> {
  return store.read(async (r) => {
    const groups = (await r.groups.all()).filter((g) => g.role !== null);
    const members = await r.groups.membersOf(groups.map((g) => g.id));
    return groups.map((g) => ({ displayName: g.displayName, members: members.get(g.id) ?? [] }));
  });
}

/** The role-sync worker, delivering the way the channel says, with its health; every write it makes is audited by the delivery. */
export function buildRoleSync(deps: RoleSyncDeps): { worker: RoleSyncWorker; health: DeliveryHealth } {
  const { api, store, capabilities, channel } = deps;
  const health = new DeliveryHealth();
  const delivery: RoleDelivery =
    deps.config.bridge.mode === 'shadow'
      ? SHADOW_DELIVERY
      : new PlanGuardedDelivery(
          new AdaptiveDelivery(channel, api, {
            'roles-attribute': new RolesAttributeDelivery(api, capabilities, channel, deps.record),
            'role-groups': new RoleGroupsDelivery(api, store, capabilities, channel, deps.record),
            'groups-passthrough': new GroupsPassthroughDelivery(api, store, capabilities, () => mappedGroups(store), deps.record),
            sso: new SsoDelivery(deps.record),
          }),
          deps.planWord,
          deps.onBlocked,
        );
  const worker = new RoleSyncWorker({
    store,
    delivery,
    logger: deps.logger,
    concurrency: deps.config.sync.concurrency,
    pollMs: deps.config.sync.pollMs,
    claimTtlMs: deps.config.sync.claimTtlMs,
    onApplied: deps.onApplied,
    onOutcome: (item, error) => health.record(item.userId, error),
  });
  return { worker, health };
}
