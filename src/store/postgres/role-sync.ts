import { sql, type Kysely } from 'kysely';
import { chunks, toRoleSyncItem as toItem, type RoleSyncItem, type RoleSyncStats } from '../rows.js';
import type { Database } from '../schema.js';
import type { RoleSyncWrites } from '../interfaces.js';

/** The role-sync outbox on PostgreSQL (see RoleSyncWrites). */
export class PostgresRoleSync implements RoleSyncWrites {
  constructor(private readonly db: Kysely<Database>) {}

  async enqueue(changes: ReadonlyMap<string, string>): Promise<void> {
    const now = new Date().toISOString();
    const rows = [...changes].map(([user_id, desired_role]) => ({
      user_id,
      desired_role,
      seq: 1,
      attempts: 0,
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    }));
    for (const part of chunks(rows)) {
      await this.db
        .insertInto('role_sync')
        .values(part)
        .onConflict((oc) =>
          oc.column('user_id').doUpdateSet((eb) => ({
            desired_role: eb.ref('excluded.desired_role'),
            seq: sql`role_sync.seq + 1`,
            attempts: 0,
            next_attempt_at: eb.ref('excluded.next_attempt_at'),
            last_error: null,
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
  }

  /** Claims due rows for one worker; rows another replica claimed and never finished come back after their TTL. */
  async claim(workerId: string, limit: number, ttlMs: number): Promise<RoleSyncItem[]> {
    const now = new Date();
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + ttlMs).toISOString();
    const due = this.db
      .selectFrom('role_sync')
      .select('user_id')
      .where('next_attempt_at', '<=', nowIso)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', nowIso)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      // Replicas claiming at once take different rows instead of waiting for each other.
      .forUpdate()
      .skipLocked();
    const rows = await this.db
      .updateTable('role_sync')
      .set({ claimed_by: workerId, claimed_until: until })
      .where('user_id', 'in', due)
      .returningAll()
      .execute();
    return rows.map(toItem);
  }

  /** Done: removes the row unless a newer desired role arrived meanwhile. */
  async complete(workerId: string, item: RoleSyncItem): Promise<void> {
    const r = await this.db.deleteFrom('role_sync').where('user_id', '=', item.userId).where('seq', '=', item.seq).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) await this.release(workerId, [item.userId]);
  }

  async fail(workerId: string, item: RoleSyncItem, error: string, retryAt: Date): Promise<void> {
    await this.db
      .updateTable('role_sync')
      .set({
        attempts: sql`attempts + 1`,
        last_error: error.slice(0, 500),
        next_attempt_at: retryAt.toISOString(),
        claimed_by: null,
        claimed_until: null,
        updated_at: new Date().toISOString(),
      })
      .where('user_id', '=', item.userId)
      .where('seq', '=', item.seq)
      .execute();
    await this.release(workerId, [item.userId]);
  }

  /** Hands claims back (graceful shutdown, or a newer desired role). */
  async release(workerId: string, userIds?: readonly string[]): Promise<void> {
    await this.db
      .updateTable('role_sync')
      .set({ claimed_by: null, claimed_until: null })
      .where('claimed_by', '=', workerId)
      .$if(userIds !== undefined, (q) => q.where('user_id', 'in', userIds!.length ? userIds! : ['']))
      .execute();
  }

  async stats(): Promise<RoleSyncStats> {
    const r = await this.db
      .selectFrom('role_sync')
      .select((eb) => [
        eb.fn.countAll<number>().as('backlog'),
        eb.fn.min<string>('created_at').as('oldest'),
        eb.fn.sum<number>(eb.case().when('attempts', '>', 0).then(1).else(0).end()).as('failing'),
      ])
      .executeTakeFirstOrThrow();
    return { backlog: Number(r.backlog), failing: Number(r.failing ?? 0), oldestPendingAt: r.oldest ?? null };
  }

  async failing(limit = 100): Promise<RoleSyncItem[]> {
    const rows = await this.db.selectFrom('role_sync').selectAll().where('attempts', '>', 0).orderBy('updated_at', 'desc').limit(limit).execute();
    return rows.map(toItem);
  }
}
