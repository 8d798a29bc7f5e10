import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { RoleChannel } from '../fullstory/role-channel.js';
import type { AuditEntry, RoleSyncItem, Store } from '../store/store.js';
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
  audit: (entry: AuditEntry) => void;
  onApplied: (ok: number, failed: number) => void;
}

/** The audit row of a role delivery: its first failure, and its success after failing. */
function auditRow(item: RoleSyncItem, error: string | null): AuditEntry {
  return {
    token_name: null,
    user_agent: null,
    method: 'SYNC',
    operation: 'role-sync',
    resource_type: 'User',
    resource_id: item.userId,
    subject: null,
    outcome: error ? 'failure' : 'success',
    status: error ? 502 : 200,
    upstream_status: null,
    detail: (error ? `role ${item.desiredRole} not delivered: ${error}` : `role ${item.desiredRole} delivered after ${item.attempts} failed attempts`).slice(0, 500),
  };
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

/** The role-sync worker, delivering the way the channel says, with its health and audit trail. */
export function buildRoleSync(deps: RoleSyncDeps): { worker: RoleSyncWorker; health: DeliveryHealth } {
  const { api, store, capabilities, channel } = deps;
  const health = new DeliveryHealth();
  const delivery: RoleDelivery =
    deps.config.bridge.mode === 'shadow'
      ? SHADOW_DELIVERY
      : new AdaptiveDelivery(channel, api, new RolesAttributeDelivery(api, capabilities, channel), new RoleGroupsDelivery(api, store, capabilities, channel));
  const worker = new RoleSyncWorker({
    store,
    delivery,
    logger: deps.logger,
    concurrency: deps.config.sync.concurrency,
    pollMs: deps.config.sync.pollMs,
    claimTtlMs: deps.config.sync.claimTtlMs,
    onApplied: deps.onApplied,
    onOutcome: (item, error) => {
      health.record(item.userId, error);
      // Once per failing streak, not once per retry.
      if (error ? item.attempts === 0 : item.attempts > 0) deps.audit(auditRow(item, error));
    },
  });
  return { worker, health };
}
