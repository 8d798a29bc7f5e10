import { afterEach, describe, expect, it } from 'vitest';
import { foldAuditLastChanges } from '../../src/store/last-changes.js';
import { Store } from '../../src/store/store.js';

const change = (at: string, id: string, by: string) => ({
  at,
  token_name: by,
  user_agent: null,
  method: 'PATCH',
  operation: 'PATCH /Users/:id',
  resource_type: 'User',
  resource_id: id,
  subject: null,
  outcome: 'success',
  status: 200,
  upstream_status: 200,
  detail: null,
});

describe('who last changed each user, folded from the audit log when asked', () => {
  let store: Store | undefined;
  afterEach(async () => store?.close());

  it('a row that reaches the log after a fold, stamped a little earlier than its end, is folded by the next one', async () => {
    store = await Store.open({ dataDir: ':memory:' });
    const now = Date.now();
    const iso = (msAgo: number) => new Date(now - msAgo).toISOString();
    await store.transaction((tx) => tx.audit.recordMany([change(iso(60_000), 'on-time', 'okta')]));
    await foldAuditLastChanges(store);
    // Another replica's batch, written late with an earlier stamp.
    await store.transaction((tx) => tx.audit.recordMany([change(iso(120_000), 'late', 'entra')]));
    await foldAuditLastChanges(store);
    const last = await store.read((r) => r.audit.lastChanges(['on-time', 'late']));
    expect(last).toEqual(
      new Map([
        ['on-time', { at: iso(60_000), by: 'okta' }],
        ['late', { at: iso(120_000), by: 'entra' }],
      ]),
    );
  });
});
