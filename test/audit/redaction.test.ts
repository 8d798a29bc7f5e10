import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseHold } from '../../src/provisioning/release.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import type { AuditTable } from '../../src/store/schema.js';
import { eventually, G, GROUP_SCHEMA, IDP_TOKEN, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const OPS = 'ops-token-for-the-redaction-test';

describe('AUDIT_REDACT_PII keeps names and free text out of every kind of audit row', () => {
  let sb: RunningSandbox;
  let t: TestBridge;
  beforeAll(async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    t = await startTestBridge({
      sharedSandbox: sb,
      config: { audit: { redactPii: true }, guard: { maxDeprovisions: 1 }, roles: { groups: { Admins: 'admin' } }, ops: { token: OPS } },
    });
  });
  afterAll(async () => {
    await t?.close();
    await sb?.close();
  });

  it('requests, FullStory writes by the worker, holds, releases, and refusals at the edge and the console', async () => {
    const ids = [];
    for (const n of ['pii-a', 'pii-b', 'pii-c']) ids.push((await t.req('POST', U, oktaUser(`${n}@okta.local`))).body.id);
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: [{ value: ids[0] }] });
    await eventually(() => sb.roles().get('pii-a@okta.local') === 'admin', 'the role');
    const off = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] };
    expect((await t.req('PATCH', `${U}/${ids[1]}`, off)).status).toBe(200);
    expect((await t.req('PATCH', `${U}/${ids[2]}`, off)).status).toBe(503);
    const [hold] = await t.bridge.deps.store.read((r) => r.guard.holds('held'));
    await releaseHold({ store: t.bridge.deps.store, users: t.bridge.deps.users, kick: t.bridge.deps.kick, audit: t.bridge.deps.audit }, hold!, 'ops:OPS_TOKEN');
    await t.req('GET', U, undefined, { authorization: 'Bearer wrong' });
    await t.bridge.app.inject({
      method: 'POST',
      url: '/console/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=wrong',
    });
    await t.bridge.deps.audit.flush();

    const rows = await t.sql<AuditTable>('select * from audit');
    const kinds = new Set(rows.map((r) => r.operation.split(' ')[0]!.replace(/\.(create|replace|patch|deactivate)$/, '')));
    expect([...kinds].sort()).toEqual(
      expect.arrayContaining(['POST', 'PATCH', 'fullstory.users', 'guard.hold', 'guard.release', 'auth.failure', 'console.login']),
    );
    for (const r of rows) {
      expect(r.subject === null || /^sha256:[0-9a-f]{16}$/.test(r.subject), JSON.stringify(r)).toBe(true);
      expect(r.detail, JSON.stringify(r)).toBeNull();
    }
    const text = JSON.stringify(rows);
    expect(text).not.toMatch(/okta\.local|127\.0\.0\.1|Admins/);
    expect(text).not.toContain(IDP_TOKEN);
  });
});
