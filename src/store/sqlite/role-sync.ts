import { toRoleSyncItem, type RoleSyncItem, type RoleSyncStats } from '../rows.js';
import type { RoleSyncTable } from '../schema.js';
import type { RoleSyncWrites } from '../interfaces.js';
import type { Prepared } from './prepared.js';
import type { ReadSnapshot } from './read-snapshot.js';

const SQL = {
  enqueue:
    'insert into "role_sync" ("user_id", "desired_role", "seq", "attempts", "next_attempt_at", "created_at", "updated_at") values (?, ?, 1, 0, ?, ?, ?) ' +
    'on conflict ("user_id") do update set "desired_role" = excluded."desired_role", "seq" = "role_sync"."seq" + 1, "attempts" = 0, ' +
    '"next_attempt_at" = excluded."next_attempt_at", "last_error" = null, "updated_at" = excluded."updated_at"',
  claim:
    'update "role_sync" set "claimed_by" = ?, "claimed_until" = ? where "user_id" in (select "user_id" from "role_sync" ' +
    'where "next_attempt_at" <= ? and ("claimed_until" is null or "claimed_until" < ?) order by "next_attempt_at" limit ?) returning *',
  complete: 'delete from "role_sync" where "user_id" = ? and "seq" = ?',
  fail:
    'update "role_sync" set "attempts" = "attempts" + 1, "last_error" = ?, "next_attempt_at" = ?, "claimed_by" = null, "claimed_until" = null, "updated_at" = ? ' +
    'where "user_id" = ? and "seq" = ?',
  releaseAll: 'update "role_sync" set "claimed_by" = null, "claimed_until" = null where "claimed_by" = ?',
  releaseOne: 'update "role_sync" set "claimed_by" = null, "claimed_until" = null where "claimed_by" = ? and "user_id" = ?',
  stats: 'select count(*) as "backlog", min("created_at") as "oldest", sum(case when "attempts" > 0 then 1 else 0 end) as "failing" from "role_sync"',
  failing: 'select * from "role_sync" where "attempts" > 0 order by "updated_at" desc limit ?',
} as const;

/** The role-sync outbox on SQLite's one writer: a claim is one statement. */
export class SqliteRoleSync implements RoleSyncWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  async enqueue(changes: ReadonlyMap<string, string>): Promise<void> {
    const now = new Date().toISOString();
    const enqueue = this.p.sql(SQL.enqueue);
    for (const [userId, role] of changes) enqueue.run(userId, role, now, now, now);
  }

  async claim(workerId: string, limit: number, ttlMs: number): Promise<RoleSyncItem[]> {
    const now = new Date();
    const nowIso = now.toISOString();
    const rows = this.p.sql<unknown[], RoleSyncTable>(SQL.claim).all(workerId, new Date(now.getTime() + ttlMs).toISOString(), nowIso, nowIso, limit);
    return rows.map(toRoleSyncItem);
  }

  async complete(workerId: string, item: RoleSyncItem): Promise<void> {
    if (this.p.sql(SQL.complete).run(item.userId, item.seq).changes === 0) await this.release(workerId, [item.userId]);
  }

  async fail(workerId: string, item: RoleSyncItem, error: string, retryAt: Date): Promise<void> {
    this.p.sql(SQL.fail).run(error.slice(0, 500), retryAt.toISOString(), new Date().toISOString(), item.userId, item.seq);
    await this.release(workerId, [item.userId]);
  }

  async release(workerId: string, userIds?: readonly string[]): Promise<void> {
    if (userIds === undefined) {
      this.p.sql(SQL.releaseAll).run(workerId);
      return;
    }
    const one = this.p.sql(SQL.releaseOne);
    for (const id of userIds) one.run(workerId, id);
  }

  async stats(): Promise<RoleSyncStats> {
    this.snapshot?.enter();
    const r = this.p.sql<[], { backlog: number; oldest: string | null; failing: number | null }>(SQL.stats).get()!;
    return { backlog: Number(r.backlog), failing: Number(r.failing ?? 0), oldestPendingAt: r.oldest ?? null };
  }

  async failing(limit = 100): Promise<RoleSyncItem[]> {
    this.snapshot?.enter();
    return this.p.sql<[number], RoleSyncTable>(SQL.failing).all(limit).map(toRoleSyncItem);
  }
}
