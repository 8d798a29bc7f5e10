import type { FullStoryApi } from '../api.js';
import { UpstreamError } from '../errors.js';
import type { Delivery, RoleChannel } from './channel.js';

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

/** A lock that holds across replicas (the store's): group rewrites take it so no concurrent change is lost. */
export interface Locks {
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
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

/** FullStory's "no" to the request itself (as opposed to a failure to answer). */
export const refusal = (err: unknown): boolean => err instanceof UpstreamError && err.status === 400;

/**
 * Delivers each batch the way the channel's evidence says FullStory carries roles now;
 * with nothing to go on yet, one user is read first, which is evidence enough.
 */
export class AdaptiveDelivery implements RoleDelivery {
  constructor(
    private readonly channel: RoleChannel,
    private readonly api: FullStoryApi,
    private readonly ways: Record<Delivery, RoleDelivery>,
  ) {}

  get batched(): boolean {
    return this.ways[this.channel.delivery ?? 'roles-attribute'].batched;
  }

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    if (this.channel.delivery === undefined && changes[0]) {
      try {
        await this.api.getUser(changes[0].userId, 'sync');
      } catch (err) {
        return new Map(changes.map((c) => [c.userId, err as Error]));
      }
    }
    return this.ways[this.channel.delivery ?? 'roles-attribute'].deliver(changes);
  }
}
