import type { Config } from '../config/schema.js';
import type { PlanWordFacts } from '../fullstory/plan-word.js';
import type { ReviewSource } from '../plan/access-review.js';
import type { DeliveryChoice } from '../fullstory/roles/channel.js';
import type { Readiness } from '../fullstory/upstream.js';
import type { DeliveryVerdict } from '../sync/health.js';
import type { GroupsService } from '../provisioning/groups-service.js';
import type { OpContext, UsersService } from '../provisioning/users-service.js';
import type { AuditLog } from '../audit/log.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AuthThrottle } from './auth-throttle.js';

/** What the HTTP layer is given; it knows nothing of how these are built. */
export interface AppDeps {
  config: Config;
  store: Store;
  users: UsersService;
  groups: GroupsService;
  metrics: Metrics;
  audit: AuditLog;
  /** Failed token checks per client address. */
  authThrottle: AuthThrottle;
  /** Hashed IdP tokens by name. */
  tokens: { name: string; sha256: Buffer<ArrayBufferLike> }[];
  /** When this replica last saw each IdP token used (epoch ms): "is Okta still talking to us?". */
  tokenLastUsed: Map<string, number>;
  /** Hashed ops tokens by name: they open /console, and IdP tokens do not. */
  opsTokens: { name: string; sha256: Buffer<ArrayBufferLike> }[];
  /** Wakes the role-sync worker (a released demotion). */
  kick: () => void;
  /** Readiness: the last preflight's verdict and what it learned. */
  readiness: Readiness;
  /** How roles reach FullStory now, and whether that is failing for most users. */
  roleDelivery: () => { delivery: DeliveryChoice; health: DeliveryVerdict; planWord?: PlanWordFacts | undefined };
  /** Shown in discovery descriptions: e.g. that this is the demo sandbox, or shadow mode. */
  banner?: string;
  /** live, or shadow (nothing is written to FullStory). */
  mode: 'live' | 'shadow';
  /** Users recorded in shadow mode that FullStory does not hold yet (a plan is pending). */
  pendingPlan: () => number;
  /** What an access review reads (the console's page and CSV download). */
  review: () => ReviewSource;
  /** Whether the index holds every FullStory user, and as of when (null: no refresh yet, or refresh off). */
  index: () => { complete: boolean; refreshedAt: string | null };
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
