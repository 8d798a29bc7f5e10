import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBridge } from '../../src/bridge.js';
import { PreflightError } from '../../src/fullstory/upstream.js';
import { loadConfig } from '../../src/config/load.js';
import { FullStoryClient } from '../../src/fullstory/client.js';
import { DIAGNOSIS, preflight } from '../../src/fullstory/preflight.js';
import type { DeliverySetting } from '../../src/fullstory/roles/channel.js';
import type { ProfileName, ProfilePatch } from '../../src/sandbox/profile.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import pino from 'pino';

let sb: RunningSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

const client = (baseUrl: string, token: string, timeoutMs = 2000) =>
  new FullStoryClient({ baseUrl, token, connectTimeoutMs: 1000, timeoutMs, ratePerSecond: 100, rateBurst: 100, idpWaitMs: 5000 });

async function run(profile: ProfileName, patch: ProfilePatch, opts: { token?: string; path?: string; delivery?: DeliverySetting; timeoutMs?: number } = {}) {
  sb = await startSandbox({ profile, patch: { rateLimit: null, ...patch } });
  const c = client(sb.url.replace('/scim/v2', opts.path ?? '/scim/v2'), opts.token ?? sb.token, opts.timeoutMs);
  try {
    return await preflight(c, { delivery: opts.delivery ?? 'auto' });
  } finally {
    await c.close();
  }
}
const failure = (r: { checks: { ok: boolean; message: string }[] }) => r.checks.find((c) => !c.ok)?.message;

describe('preflight: each way FullStory can be unusable has its own plain message', () => {
  it('all well: capabilities learned from the default profile', async () => {
    const r = await run('default', {});
    expect(r.ok).toBe(true);
    expect(r.capabilities).toMatchObject({ discovery: true, patchUsers: true, deleteUsers: true, groups: true });
    expect([...r.capabilities!.filters].sort()).toEqual(['emails.value', 'externalid', 'username']);
  });

  it('a wrong or regenerated token', async () => {
    const r = await run('default', {}, { token: 'stale-token' });
    expect(r.ok).toBe(false);
    expect(failure(r)).toBe(DIAGNOSIS.unauthorized());
    expect(failure(r)).toMatch(/regenerated.*Generate Authorization Token|Account Provisioning/s);
  });

  it('SCIM not enabled (403): plan and SAML SSO named', async () => {
    const r = await run('default', { scimEnabled: false });
    expect(failure(r)).toBe(DIAGNOSIS.notEnabled());
    expect(failure(r)).toMatch(/Enterprise.*SAML SSO/s);
  });

  it('SCIM not enabled under strict (401): both possibilities said', async () => {
    const r = await run('strict', { scimEnabled: false });
    expect(failure(r)).toBe(DIAGNOSIS.unauthorized());
    expect(failure(r)).toMatch(/token is wrong.*SAML SSO/s);
  });

  it('a wrong base URL (404)', async () => {
    const r = await run('default', {}, { path: '/v2/scim' });
    expect(failure(r)).toMatch(/base URL is wrong/);
  });

  it('a host that does not resolve', async () => {
    const c = client('http://fullstory.nonexistent.invalid/scim/v2', 'x');
    const r = await preflight(c, { delivery: 'auto' });
    await c.close();
    expect(failure(r)).toMatch(/^Cannot resolve fullstory\.nonexistent\.invalid/);
  });

  it('TLS that fails', async () => {
    sb = await startSandbox({});
    const c = client(sb.url.replace('http:', 'https:'), sb.token);
    const r = await preflight(c, { delivery: 'auto' });
    await c.close();
    expect(failure(r)).toMatch(/^TLS to FullStory failed/);
  });

  it('a FullStory that does not answer in time', async () => {
    const r = await run('default', { faults: { hangRate: 1, hangMs: 3000 } }, { timeoutMs: 300 });
    expect(failure(r)).toMatch(/did not answer in time/);
  });

  it('nothing listening', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const c = client(`http://127.0.0.1:${port}/scim/v2`, 'x');
    const r = await preflight(c, { delivery: 'auto' });
    await c.close();
    expect(failure(r)).toMatch(/^Cannot reach FullStory: .*ECONNREFUSED/);
  });

  it.each(['role-groups', 'groups-passthrough'] as const)(
    '%s configured where FullStory has no /Groups stops preflight, naming the setting',
    async (delivery) => {
      const r = await run('default', { groups: 'none' }, { delivery });
      expect(failure(r)).toBe(DIAGNOSIS.roleGroupsUnsupported(delivery));
      expect(failure(r)).toContain(`"${delivery}"`);
    },
  );
});

describe('preflight learns every capability the bridge relies on', () => {
  const check = (r: Awaited<ReturnType<typeof run>>, name: string) => r.checks.find((c) => c.name === name);

  it('group filters: served by the default, not by the strict column', async () => {
    expect((await run('default', {})).capabilities!.groupFilters).toBe(true);
    await sb!.close();
    const strict = await run('strict', {});
    expect(strict.capabilities!.groupFilters).toBe(false);
    expect(check(strict, 'group-filters')!.message).toMatch(/no filter on \/Groups: role groups are found by listing/);
  });

  it('the largest page, from a page FullStory cut short (no discovery to say it)', async () => {
    sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null, maxPage: 20 } });
    for (let i = 0; i < 30; i++) sb.state.createUser({ userName: `u${i}@x.com` });
    const c = client(sb.url, sb.token);
    const r = await preflight(c, { delivery: 'auto' }).finally(() => c.close());
    expect(r.capabilities!.maxPage).toBe(20);
    expect(check(r, 'page-size')!.message).toMatch(/at most 20/);
  });

  it("role groups FullStory already holds, under FullStory's ids, found without a filter", async () => {
    const r = await run('strict', { roleGroups: 'preexisting' });
    const ids = new Map([...sb!.state.groups.values()].map((g) => [g.displayName.toLowerCase(), g.id]));
    expect(Object.fromEntries(r.capabilities!.roleGroups)).toEqual({
      admin: ids.get('admin'),
      architect: ids.get('architect'),
      standard: ids.get('standard'),
      explorer: ids.get('explorer'),
      guest: ids.get('guest'),
    });
    expect(check(r, 'role-delivery')!.message).toMatch(/^roles travel as role groups: FullStory has role groups/);
  });

  it('whether users show roles, and in which form; the delivery chosen from it', async () => {
    sb = await startSandbox({ patch: { rateLimit: null, roleForm: 'strings' } });
    sb.state.createUser({ userName: 'a@x.com', roles: ['admin'] });
    let c = client(sb.url, sb.token);
    let r = await preflight(c, { delivery: 'auto' }).finally(() => c.close());
    expect(r.capabilities!.usersRoles).toEqual({ shown: 1, absent: 0, form: 'strings' });
    expect(check(r, 'user-roles')!.message).toBe('FullStory shows `roles` on its users, written as ["architect"]');
    expect(check(r, 'role-delivery')!.message).toMatch(/^roles travel as `roles` on users/);
    await sb.close();
    sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null } });
    sb.state.createUser({ userName: 'a@x.com' });
    c = client(sb.url, sb.token);
    r = await preflight(c, { delivery: 'roles-attribute' }).finally(() => c.close());
    expect(r.capabilities!.usersRoles).toEqual({ shown: 0, absent: 1 });
    expect(r.ok).toBe(true);
    expect(check(r, 'role-delivery')).toMatchObject({ warn: true, message: expect.stringMatching(/Set roles.delivery to "role-groups"/) });
  });

  it('an empty FullStory leaves the delivery undecided, and says what will decide it', async () => {
    const r = await run('default', {});
    expect(check(r, 'user-roles')!.message).toMatch(/holds no users yet/);
    expect(check(r, 'role-delivery')!.message).toMatch(/^undecided: .*the first user FullStory returns decides/);
  });
});

describe('startup policy', () => {
  const config = (policy: string) =>
    loadConfig({}, { fullstory: { url: sb!.url, token: sb!.token }, idp: { token: 'x'.repeat(20) }, database: { dataDir: ':memory:' }, startup: { policy } });

  it('fail-fast refuses to start, with the reason', async () => {
    sb = await startSandbox({ patch: { scimEnabled: false } });
    await expect(createBridge(config('fail-fast'), { logger: pino({ level: 'silent' }), sandbox: sb })).rejects.toThrow(PreflightError);
  });

  it('degraded starts not ready and answers the IdP 503 with the reason and Retry-After', async () => {
    sb = await startSandbox({ patch: { scimEnabled: false } });
    const bridge = await createBridge(config('degraded'), { logger: pino({ level: 'silent' }), sandbox: sb });
    try {
      const ready = await bridge.app.inject({ url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().fullstory).toMatch(/not enabled/);
      const res = await bridge.app.inject({ url: '/scim/v2/Users', headers: { authorization: `Bearer ${'x'.repeat(20)}` } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json().detail).toMatch(/SCIM provisioning is not enabled/);
      // Discovery stays open, by its route: a query string that names it does not walk past the gate.
      const auth = { authorization: `Bearer ${'x'.repeat(20)}` };
      expect((await bridge.app.inject({ url: '/scim/v2/ServiceProviderConfig', headers: auth })).statusCode).toBe(200);
      expect((await bridge.app.inject({ url: '/scim/v2/Users?x=/ServiceProviderConfig', headers: auth })).statusCode).toBe(503);
      expect((await bridge.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await bridge.close();
    }
  });
});
