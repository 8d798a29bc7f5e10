import { PlanBlocked, type PlanWord } from '../plan-word.js';
import type { DeliveryResult, RoleChange, RoleDelivery } from './delivery.js';

/**
 * Role changes go out through `inner` unless FullStory already said its plan lacks the
 * role: those are answered blocked without a call, and a refusal that says so turns the
 * change blocked too (the worker then waits a day, not a backoff, and asks nothing of
 * FullStory while it remembers).
 */
export class PlanGuardedDelivery implements RoleDelivery {
  constructor(
    private readonly inner: RoleDelivery,
    private readonly word: PlanWord,
    private readonly onBlocked: (n: number) => void = () => {},
  ) {}

  get batched(): boolean {
    return this.inner.batched;
  }

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    const results: DeliveryResult = new Map();
    const send = changes.filter((c) => {
      const why = this.word.blocks(c.role);
      if (why) results.set(c.userId, new PlanBlocked(why));
      return !why;
    });
    const roleOf = new Map(send.map((c) => [c.userId, c.role]));
    for (const [userId, err] of send.length > 0 ? await this.inner.deliver(send) : []) {
      const learned = err !== null && (await this.word.learn(err));
      const why = learned ? this.word.blocks(roleOf.get(userId)!) : undefined;
      results.set(userId, why ? new PlanBlocked(why) : err);
    }
    const blocked = [...results.values()].filter((e) => e instanceof PlanBlocked).length;
    if (blocked > 0) this.onBlocked(blocked);
    return results;
  }
}
