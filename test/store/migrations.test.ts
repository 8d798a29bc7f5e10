import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_URL, postgresAvailable, tempPgStore } from '../helpers/bridge.js';

const pgUp = await postgresAvailable();

/**
 * Another application (or another replica's test schema) may create and drop schemas in
 * the same database at any moment; opening the store must not depend on their catalogs.
 */
describe.skipIf(!pgUp)('migrations on PostgreSQL', () => {
  it('a store opens and migrates its schema while other schemas in the database are being created and dropped', async () => {
    let stop = false;
    const churn = (async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      let n = 0;
      try {
        while (!stop) {
          const s = `churn_${process.pid}_${n++}`;
          await c.query(`CREATE SCHEMA ${s}`);
          await c.query(`CREATE TABLE ${s}.t (id serial primary key, a text, b text, c text)`);
          await c.query(`DROP SCHEMA ${s} CASCADE`);
        }
      } finally {
        await c.end();
      }
      return n;
    })();
    const opened: string[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const { store, close } = await tempPgStore();
        opened.push(String(await store.read((r) => r.kv.get('index.refreshed_at'))));
        await close();
      }
    } finally {
      stop = true;
    }
    const churned = await churn;
    expect(churned).toBeGreaterThan(0);
    expect(opened).toHaveLength(12);
  });
});
