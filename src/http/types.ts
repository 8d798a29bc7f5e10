import type { Config } from '../config/schema.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { DeliveryChoice } from '../fullstory/role-channel.js';
import type { DeliveryVerdict } from '../sync/health.js';
import type { GroupsService } from '../provisioning/groups-service.js';
import type { OpContext, UsersService } from '../provisioning/users-service.js';
import type { AuditWriter } from '../audit/writer.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';

/** What the HTTP layer is given; it knows nothing of how these are built. */
export interface AppDeps {
  config: Config;
  store: Store;
  users: UsersService;
  groups: GroupsService;
  metrics: Metrics;
  audit: AuditWriter;
  /** Hashed IdP tokens by name. */
  tokens: { name: string; sha256: Buffer<ArrayBufferLike> }[];
  /** Readiness: the last preflight's verdict and what it learned. */
  readiness: Readiness;
  /** Shown in discovery descriptions: e.g. that this is the demo sandbox. */
  banner?: string;
}

export interface Readiness {
  ok: boolean;
  reason?: string;
  capabilities?: Capabilities;
  checkedAt?: string;
  /** Extra facts for /readyz (backlog, circuit). */
  extra?: () => Promise<Record<string, unknown>>;
  /** How roles reach FullStory now, and whether that is failing for most users. */
  roles?: () => { delivery: DeliveryChoice; health: DeliveryVerdict };
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
  interface FastifyRequest {
    tokenName?: string;
    opCtx: OpContext;
    resourceId?: string;
  }
}
