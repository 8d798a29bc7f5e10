import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import type { HoldRow, NoticeRow, Store } from '../store/store.js';
import type { Condition } from './conditions.js';
import { agedNotice, heldNotice, notice } from './notices.js';

export type NoticeOutcome = 'sent' | 'failed' | 'expired';

export interface NotifierDeps {
  store: Store;
  webhook: { post(body: string): Promise<void>; close(): Promise<void> };
  /** The states watched (role delivery, FullStory's word, drift), read on every round. */
  conditions: () => Promise<Condition[]>;
  pollMs: number;
  logger: Logger;
  onOutcome: (event: string, outcome: NoticeOutcome) => void;
  /** The clock a hold's age is read by (tests move it). */
  now?: () => number;
}

/** A hold waiting longer than this is told of again. */
const AGED_MS = 24 * 3_600_000;
/** A notice the receiver never took is given up after this (and counted as expired). */
const KEEP_MS = 7 * 24 * 3_600_000;
/** A replica that claimed a notice and died gives it back after this. */
const CLAIM_TTL_MS = 60_000;
const BATCH = 20;

/** The wait before the next try: the poll period (5 s by default) doubling to an hour. */
const backoffMs = (attempts: number, baseMs: number) => Math.min(baseMs * 2 ** Math.min(attempts, 20), 3_600_000);

/**
 * Word for a person (NOTIFY_WEBHOOK_URL), from a durable outbox. Each round, on every
 * replica: held changes (and those held over a day) and state changes (role delivery,
 * FullStory refusing the bridge, drift found by a plan) become notices, each once across
 * replicas (a hold's by its id, a state change under a lock); then due notices are
 * claimed and POSTed, a failure retried with backoff. A notice survives a restart; one
 * whose POST succeeded just as its replica died may come again, with the same `id`.
 * Provisioning never waits for any of it.
 */
export class Notifier {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = true;
  /** Open holds this process has made sure of: a round adds notices for new ones only. */
  private readonly told = new Set<string>();
  /** Each watched state as this process last saw it. */
  private readonly seen = new Map<string, string>();
  private lastExpiry = 0;

  constructor(private readonly deps: NotifierDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A receiver that hangs does not hold a shutdown: its POST is cut, and the notice waits for the next process.
    await this.deps.webhook.close();
    await this.round;
  }

  /** One round, now (the timer's, and tests'). */
  async tick(): Promise<void> {
    await this.tellHolds();
    await this.watch();
    await this.deliver();
    if (Date.now() - this.lastExpiry > 3_600_000) await this.expire();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.tick()
        .catch((err: unknown) => this.deps.logger.warn({ err: (err as Error).message }, 'notifications: a round failed; the next one retries'))
        .finally(() => this.schedule(this.deps.pollMs));
    }, ms);
    this.timer.unref();
  }

  private async tellHolds(): Promise<void> {
    const now = (this.deps.now ?? Date.now)();
    const held = await this.deps.store.read((r) => r.guard.holds('held'));
    // Only holds still held are remembered: the set never outgrows the holds table's open rows.
    const open = new Set(held.flatMap((h) => [h.id, `aged:${h.id}`]));
    for (const key of this.told) if (!open.has(key)) this.told.delete(key);
    const due = held.flatMap((h) => this.noticesOf(h, now));
    if (due.length === 0) return;
    const at = new Date(now).toISOString();
    await this.deps.store.transaction(async (tx) => {
      for (const { h, aged } of due) await tx.notices.add(aged ? agedNotice(h, at) : heldNotice(h, at));
    });
    for (const { h, aged } of due) this.told.add(aged ? `aged:${h.id}` : h.id);
  }

  private noticesOf(h: HoldRow, now: number): { h: HoldRow; aged: boolean }[] {
    const out: { h: HoldRow; aged: boolean }[] = [];
    if (!this.told.has(h.id)) out.push({ h, aged: false });
    if (now - Date.parse(h.at) > AGED_MS && !this.told.has(`aged:${h.id}`)) out.push({ h, aged: true });
    return out;
  }

  /** A watched state that changed since this process last looked is recorded once for all replicas, and told of. */
  private async watch(): Promise<void> {
    for (const c of await this.deps.conditions()) {
      if (this.seen.get(c.topic) === c.state) continue;
      await this.deps.store.transaction(async (tx) => {
        await tx.notices.lock();
        const key = `notify.state.${c.topic}`;
        const before = await tx.kv.get(key);
        if (before === c.state) return;
        await tx.kv.set(key, c.state);
        // A first look that finds all well says nothing.
        if (c.body && !(before === undefined && c.ok)) {
          const at = new Date().toISOString();
          await tx.notices.add(notice(`${c.topic}:${c.state}:${uuidv7()}`, { ...c.body, at }));
        }
      });
      this.seen.set(c.topic, c.state);
    }
  }

  private async deliver(): Promise<void> {
    for (;;) {
      const due = await this.deps.store.transaction((tx) => tx.notices.claim(BATCH, CLAIM_TTL_MS));
      for (const n of due) await this.send(n);
      if (due.length < BATCH || this.stopped) return;
    }
  }

  private async send(n: NoticeRow): Promise<void> {
    try {
      await this.deps.webhook.post(JSON.stringify({ id: n.id, ...(JSON.parse(n.body) as object) }));
    } catch (err) {
      const retryAt = new Date(Date.now() + backoffMs(n.attempts, this.deps.pollMs));
      await this.deps.store.transaction((tx) => tx.notices.failed(n.id, (err as Error).message, retryAt));
      this.deps.onOutcome(n.event, 'failed');
      this.deps.logger.warn(
        { notice: n.id, event: n.event, attempts: n.attempts + 1, retryAt, err: (err as Error).message },
        'notification not delivered; retried later',
      );
      return;
    }
    await this.deps.store.transaction((tx) => tx.notices.sent(n.id));
    this.deps.onOutcome(n.event, 'sent');
  }

  private async expire(): Promise<void> {
    this.lastExpiry = Date.now();
    const gone = await this.deps.store.transaction((tx) => tx.notices.expire(new Date(Date.now() - KEEP_MS).toISOString()));
    for (const event of gone) this.deps.onOutcome(event, 'expired');
    if (gone.length > 0) this.deps.logger.error({ notices: gone.length }, 'notifications the webhook never took were given up after 7 days');
  }
}
