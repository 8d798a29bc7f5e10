import { v7 as uuidv7 } from 'uuid';
import { toHoldRow, type HoldRow, type NewHold } from '../rows.js';
import type { HoldsTable } from '../schema.js';
import type { GuardWrites, KvWrites, LinkWrites } from '../interfaces.js';
import type { Prepared } from './prepared.js';
import type { ReadSnapshot } from './read-snapshot.js';

const SQL = {
  links: 'select "id", "upstream_id" from "user_links"',
  pending: 'insert into "user_links" ("id", "upstream_id") values (?, null) on conflict do nothing',
  link: 'insert into "user_links" ("id", "upstream_id") values (?, ?) on conflict ("id") do update set "upstream_id" = excluded."upstream_id"',
  count: 'select count(*) as "n" from "guard_events" where "at" >= ?',
  record: 'insert into "guard_events" ("id", "at", "user_id", "kind") values (?, ?, ?, ?)',
  holds: 'select * from "holds" order by "at", "id"',
  holdsBy: 'select * from "holds" where "status" = ? order by "at", "id"',
  hold: 'insert into "holds" ("id", "at", "user_id", "user_name", "kind", "role", "token_name", "reason", "status") values (?, ?, ?, ?, ?, ?, ?, ?, \'held\')',
  holdById: 'select * from "holds" where "id" = ?',
  heldFor: 'select * from "holds" where "user_id" = ? and "kind" = ? and "status" = ? order by "at" desc limit 1',
  decide:
    'update "holds" set "status" = ?, "decided_at" = coalesce("decided_at", ?), "decided_by" = coalesce("decided_by", ?), "decision_note" = coalesce("decision_note", ?), ' +
    '"released_at" = case when ? = \'released\' then ? else "released_at" end where "id" = ? and ("status" = \'held\' or (? = \'withdrawn\' and "status" = \'rejected\'))',
} as const;

/** Shadow-mode id links on SQLite. */
export class SqliteLinks implements LinkWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  async all(): Promise<{ id: string; upstreamId: string | null }[]> {
    this.snapshot?.enter();
    return this.p
      .sql<[], { id: string; upstream_id: string | null }>(SQL.links)
      .all()
      .map((r) => ({ id: r.id, upstreamId: r.upstream_id }));
  }

  async pending(id: string): Promise<void> {
    this.p.sql(SQL.pending).run(id);
  }

  async link(id: string, upstreamId: string): Promise<void> {
    this.p.sql(SQL.link).run(id, upstreamId);
  }
}

/** The deprovisioning guard on SQLite: one writer, so a transaction is already the lock. */
export class SqliteGuard implements GuardWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  async lock(): Promise<void> {}

  async countSince(fromIso: string): Promise<number> {
    this.snapshot?.enter();
    return Number(this.p.sql<[string], { n: number }>(SQL.count).get(fromIso)!.n);
  }

  async record(userId: string, kind: string): Promise<void> {
    this.p.sql(SQL.record).run(uuidv7(), new Date().toISOString(), userId, kind);
  }

  async holds(status?: HoldRow['status']): Promise<HoldRow[]> {
    this.snapshot?.enter();
    const rows = status ? this.p.sql<[string], HoldsTable>(SQL.holdsBy).all(status) : this.p.sql<[], HoldsTable>(SQL.holds).all();
    return rows.map(toHoldRow);
  }

  async hold(h: NewHold): Promise<HoldRow> {
    const id = uuidv7();
    this.p.sql(SQL.hold).run(id, new Date().toISOString(), h.userId, h.userName, h.kind, h.role, h.tokenName, h.reason);
    return toHoldRow(this.p.sql<[string], HoldsTable>(SQL.holdById).get(id)!);
  }

  async heldFor(userId: string, kind: HoldRow['kind'], status: HoldRow['status'] = 'held'): Promise<HoldRow | undefined> {
    this.snapshot?.enter();
    const r = this.p.sql<[string, string, string], HoldsTable>(SQL.heldFor).get(userId, kind, status);
    return r && toHoldRow(r);
  }

  async decide(id: string, status: Exclude<HoldRow['status'], 'held'>, by: string, note: string | null = null): Promise<boolean> {
    const now = new Date().toISOString();
    return this.p.sql(SQL.decide).run(status, now, by, note, status, now, id, status).changes > 0;
  }
}

/** Small shared facts on SQLite. */
export class SqliteKv implements KvWrites {
  constructor(
    private readonly p: Prepared,
    private readonly snapshot?: ReadSnapshot,
  ) {}

  async get(key: string): Promise<string | undefined> {
    this.snapshot?.enter();
    return this.p.sql<[string], { value: string }>('select "value" from "kv" where "key" = ?').get(key)?.value;
  }

  async set(key: string, value: string): Promise<void> {
    this.p.sql('insert into "kv" ("key", "value") values (?, ?) on conflict ("key") do update set "value" = excluded."value"').run(key, value);
  }
}
