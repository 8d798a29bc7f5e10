import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { RoleChannel } from '../fullstory/role-channel.js';
import type { WriteRecorder } from '../fullstory/writes.js';
import type { Store } from '../store/store.js';
import { AdaptiveDelivery, RoleGroupsDelivery, RolesAttributeDelivery, type RoleDelivery } from './delivery.js';
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

/** The role-sync worker, delivering the way the channel says, with its health; every write it makes is audited by the delivery. */
export function buildRoleSync(deps: RoleSyncDeps): { worker: RoleSyncWorker; health: DeliveryHealth } {
  const { api, store, capabilities, channel } = deps;
  const health = new DeliveryHealth();
  const delivery: RoleDelivery =
    deps.config.bridge.mode === 'shadow'
      ? SHADOW_DELIVERY
      : new AdaptiveDelivery(
          channel,
          api,
          new RolesAttributeDelivery(api, capabilities, channel, deps.record),
          new RoleGroupsDelivery(api, store, capabilities, channel, deps.record),
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
