import { v7 as uuidv7 } from 'uuid';
import type { NewNotice, NoticeRow } from '../rows.js';
import type { NoticesTable } from '../schema.js';
import type { NoticeWrites } from '../interfaces.js';
import type { Prepared } from './prepared.js';
import type { ReadSnapshot } from './read-snapshot.js';

const SQL = {
  add: 'insert into "notices" ("id", "at", "key", "event", "body", "attempts", "next_at") values (?, ?, ?, ?, ?, 0, ?) on conflict ("key") do nothing',
  claim:
    'update "notices" set "claimed_until" = ? where "id" in (select "id" from "notices" where "sent_at" is null and "next_at" <= ? ' +
    'and ("claimed_until" is null or "claimed_until" < ?) order by "next_at" limit ?) returning *',
  sent: 'update "notices" set "sent_at" = ?, "claimed_until" = null where "id" = ?',
  failed: 'update "notices" set "attempts" = "attempts" + 1, "last_error" = ?, "next_at" = ?, "claimed_until" = null where "id" = ?',
  pending: 'select count(*) as "n", min("at") as "oldest" from "notices" where "sent_at" is null',
  expired: 'select "event" from "notices" where "at" < ? and "sent_at" is null',
  expire: 'delete from "notices" where "at" < ?',
} as const;

const toRow = (r: NoticesTable): NoticeRow => ({ id: r.id, at: r.at, key: r.key, event: r.event, body: r.body, attempts: r.attempts });

/** The notices outbox on SQLite's one writer: a claim is one statement. */
export class SqliteNotices implements NoticeWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  async pending(): Promise<{ count: number; oldestAt: string | null }> {
    this.snapshot?.enter();
    const r = this.p.sql<[], { n: number; oldest: string | null }>(SQL.pending).get()!;
    return { count: Number(r.n), oldestAt: r.oldest };
  }

  /** One writer: a transaction is already the lock. */
  async lock(): Promise<void> {}

  async add(n: NewNotice): Promise<boolean> {
    const now = new Date().toISOString();
    return this.p.sql(SQL.add).run(uuidv7(), now, n.key, n.event, n.body, now).changes > 0;
  }

  async claim(limit: number, ttlMs: number): Promise<NoticeRow[]> {
    const now = new Date();
    const nowIso = now.toISOString();
    return this.p
      .sql<unknown[], NoticesTable>(SQL.claim)
      .all(new Date(now.getTime() + ttlMs).toISOString(), nowIso, nowIso, limit)
      .map(toRow);
  }

  async sent(id: string): Promise<void> {
    this.p.sql(SQL.sent).run(new Date().toISOString(), id);
  }

  async failed(id: string, error: string, retryAt: Date): Promise<void> {
    this.p.sql(SQL.failed).run(error.slice(0, 500), retryAt.toISOString(), id);
  }

  async expire(beforeIso: string): Promise<string[]> {
    const events = this.p
      .sql<[string], { event: string }>(SQL.expired)
      .all(beforeIso)
      .map((r) => r.event);
    this.p.sql(SQL.expire).run(beforeIso);
    return events;
  }
}
