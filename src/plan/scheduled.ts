import type { Logger } from 'pino';
import type { Store } from '../store/store.js';
import { LAST_PLAN_KEY, type Plan } from './plan.js';

/** What a plan run leaves in the store: its counts, when, and whether a schedule ran it. */
export interface PlanSummary {
  at: string;
  creates: number;
  updates: number;
  deactivations: number;
  roleChanges: number;
  unmanaged: number;
  scheduled?: boolean;
}

/** The changes a plan would make (unmanaged teammates are left alone, so they are not drift). */
export const drift = (s: Pick<PlanSummary, 'creates' | 'updates' | 'deactivations' | 'roleChanges'>) => s.creates + s.updates + s.deactivations + s.roleChanges;

/** Keeps a plan's counts for the console, the metrics and the next scheduled run. */
export async function recordPlan(store: Store, p: Plan, scheduled = false): Promise<PlanSummary> {
  const summary: PlanSummary = {
    at: new Date().toISOString(),
    creates: p.creates,
    updates: p.updates,
    deactivations: p.deactivations,
    roleChanges: p.roleChanges,
    unmanaged: p.unmanaged,
    ...(scheduled ? { scheduled } : {}),
  };
  await store.transaction((tx) => tx.kv.set(LAST_PLAN_KEY, JSON.stringify(summary)));
  return summary;
}

export async function lastPlan(store: Store): Promise<PlanSummary | undefined> {
  const text = await store.read((r) => r.kv.get(LAST_PLAN_KEY));
  return text ? (JSON.parse(text) as PlanSummary) : undefined;
}

export interface ScheduledPlanDeps {
  store: Store;
  intervalMs: number;
  plan: () => Promise<Plan>;
  logger: Logger;
}

/**
 * `plan` on a period, on one replica at a time: each replica looks every period, and the one
 * that takes the lock runs it only when the last plan (anyone's) is a period old, so N
 * replicas make one run per period between them. It reads FullStory within the budget
 * (at the worker's priority) and applies nothing; drift appearing is said once.
 */
export class ScheduledPlan {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: ScheduledPlanDeps) {}

  start(): void {
    if (this.deps.intervalMs <= 0 || this.timer) return;
    // Looked at more often than the period, so a replica that stopped is replaced within one.
    this.timer = setInterval(() => void this.tick(), Math.max(1000, this.deps.intervalMs / 4));
    this.timer.unref();
    void this.tick();
  }

  /** One look: runs the plan if it is due, and resolves when that run (if any) is over. */
  tick(): Promise<void> {
    this.running ??= this.deps.store
      .withLock('scheduled-plan', () => this.runIfDue())
      .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'scheduled plan failed; the next period tries again'))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async runIfDue(): Promise<void> {
    const before = await lastPlan(this.deps.store);
    if (before && Date.now() - Date.parse(before.at) < this.deps.intervalMs * 0.9) return;
    const summary = await recordPlan(this.deps.store, await this.deps.plan(), true);
    const found = drift(summary);
    if (found > 0 && (!before || drift(before) === 0)) {
      this.deps.logger.warn(
        { creates: summary.creates, updates: summary.updates, deactivations: summary.deactivations, roleChanges: summary.roleChanges },
        `the scheduled plan found drift: ${found} changes would make FullStory what the IdP wants (nothing applied; run fullstory-scim-bridge plan to see them, apply to repair)`,
      );
    } else if (found === 0 && before && drift(before) > 0) this.deps.logger.info('the scheduled plan found no drift any more');
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
