import { expect } from 'vitest';
import type { Res, TestBridge } from './bridge.js';

/** Everything a refused request could have changed: the store's rows and FullStory's writes. */
export async function snapshot(t: TestBridge) {
  const count = async (table: 'users' | 'groups' | 'group_members' | 'role_sync' | 'user_emails') =>
    Number((await t.sql<{ n: number }>(`select count(*) as n from ${table}`))[0]!.n);
  const users = await t.sql('select id, resource, version, active from users order by id');
  const groups = await t.sql('select id, display_name, version from groups order by id');
  return {
    rows: {
      users: await count('users'),
      groups: await count('groups'),
      members: await count('group_members'),
      outbox: await count('role_sync'),
      emails: await count('user_emails'),
    },
    users,
    groups,
    fullstoryWrites: t.sandbox.counters.writes(),
  };
}

/** An RFC 7644 §3.12 Error with this status (and scimType), and nothing of the bridge's insides in it. */
export function expectScimError(res: Res, status: number, scimType?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  expect(res.body.status).toBe(String(status));
  expect(typeof res.body.detail).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/\bat \w+ \(|node_modules|\.ts:\d+/);
  if (scimType) expect(res.body.scimType).toBe(scimType);
}
