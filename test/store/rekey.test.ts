import { afterEach, describe, expect, it } from 'vitest';
import { IDENTITY_TWINS_KEY } from '../../src/store/rekey.js';
import { foldAuditLastChanges } from '../../src/store/last-changes.js';
import { Store } from '../../src/store/store.js';
import { dataPlace, PG_URL, databases, rawSql as raw, type DataPlace } from '../helpers/bridge.js';

const dbs = await databases();

const open = (where: DataPlace) =>
  Store.open({ url: where.pgSchema ? PG_URL : undefined, dataDir: where.dataDir ?? ':memory:', ...(where.pgSchema ? { pgSchema: where.pgSchema } : {}) });

describe.each(dbs)('migration 0006 re-keys userNames and emails on %s', (db) => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('keys every user through NFKC and case; twins made before it are both kept and reported, never merged', async () => {
    const { where, remove } = await dataPlace(db);
    cleanup.push(remove);
    await (await open(where)).close();
    const user = (id: string, userName: string, at: string, email: string): [string, unknown[]] => [
      'insert into users (id, user_name, user_name_lc, active, resource, created_at, updated_at, version) values ($1, $2, $3, 1, $4, $5, $6, 1)',
      [id, userName, userName.toLowerCase(), JSON.stringify({ userName, emails: [{ value: email }] }), at, at],
    ];
    await raw(where, [
      user('u-ascii', 'jos\u00e9@x.com', '2026-01-02T00:00:00.000Z', 'jos\u00e9@x.com'),
      user('u-wide', '\uff4a\uff4f\uff53\u00e9@x.com', '2026-01-01T00:00:00.000Z', '\uff4a\uff4f\uff53\u00e9@x.com'),
      user('u-alone', '\uff41\uff4c\uff4f\uff4e\uff45@x.com', '2026-01-03T00:00:00.000Z', 'ALONE@x.com'),
      ['insert into user_emails (user_id, value_lc, type) values ($1, $2, null)', ['u-alone', 'alone@x.com']],
      // Back to the schema before 0006: the migrations after it run again too.
      ["delete from kysely_migration where name >= '0006'", []],
      ['alter table audit drop column "change"', []],
      ['drop table audit_last_change', []],
      ['alter table holds drop column decided_at', []],
      ['alter table holds drop column decided_by', []],
      ['alter table holds drop column decision_note', []],
      ['drop table notices', []],
    ]);
    const store = await open(where);
    try {
      const rows = await store.read(async (r) => ({
        byWide: await r.users.findByUserName('\uff4a\uff4f\uff53\u00e9@x.com'),
        alone: await r.users.findByUserName('alone@x.com'),
        twins: await r.kv.get(IDENTITY_TWINS_KEY),
        all: await r.users.getMany(['u-ascii', 'u-wide', 'u-alone']),
      }));
      // The user already keyed so keeps the key; the other is kept, reported, and found by its id.
      expect(rows.byWide?.id).toBe('u-ascii');
      expect(rows.all.map((u) => u.id).sort()).toEqual(['u-alone', 'u-ascii', 'u-wide']);
      expect(JSON.parse(rows.twins!)).toEqual([{ id: 'u-wide', userName: '\uff4a\uff4f\uff53\u00e9@x.com', twinOf: 'u-ascii' }]);
      // A user without a twin is simply re-keyed, its emails too.
      expect(rows.alone?.id).toBe('u-alone');
      const byEmail = await store.read((r) => r.users.query([{ key: 'emails.value', value: '\uff41\uff4c\uff4f\uff4e\uff45@x.com' }], 0, 10));
      expect(byEmail.rows.map((u) => u.id)).toEqual(['u-alone']);
    } finally {
      await store.close();
    }
  });
});

describe.each(dbs)('migration 0010 keeps who last changed each user on %s', (db) => {
  it('the latest successful change per user is folded from the rows written before it; reads and failures are not', async () => {
    const { where, remove } = await dataPlace(db);
    try {
      await (await open(where)).close();
      const row = (id: string, at: string, by: string, method: string, outcome: string): [string, unknown[]] => [
        'insert into audit (id, at, token_name, method, operation, resource_type, resource_id, outcome, status) values ($1, $2, $3, $4, $5, $6, $7, $8, 200)',
        [`${id}-${at}`, at, by, method, `${method} /Users/:id`, 'User', id, outcome],
      ];
      await raw(where, [
        // Back to the schema before 0010.
        ["delete from kysely_migration where name >= '0010'", []],
        ['drop table audit_last_change', []],
        ['create index audit_resource_at on audit (resource_id, at)', []],
        row('u1', '2026-03-01T00:00:00.000Z', 'okta', 'PATCH', 'success'),
        row('u1', '2026-03-02T00:00:00.000Z', 'cli:apply', 'FULLSTORY', 'success'),
        row('u1', '2026-03-03T00:00:00.000Z', 'okta', 'GET', 'success'),
        row('u1', '2026-03-04T00:00:00.000Z', 'okta', 'PATCH', 'failure'),
        row('u2', '2026-03-01T00:00:00.000Z', 'entra', 'POST', 'success'),
        row('u3', '2026-03-01T00:00:00.000Z', 'entra', 'GET', 'success'),
      ]);
      const store = await open(where);
      try {
        await foldAuditLastChanges(store);
        expect(await store.read((r) => r.audit.lastChanges(['u1', 'u2', 'u3']))).toEqual(
          new Map([
            ['u1', { at: '2026-03-02T00:00:00.000Z', by: 'cli:apply' }],
            ['u2', { at: '2026-03-01T00:00:00.000Z', by: 'entra' }],
          ]),
        );
      } finally {
        await store.close();
      }
    } finally {
      await remove();
    }
  });
});
