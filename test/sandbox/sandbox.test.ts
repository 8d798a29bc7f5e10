import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';

let sb: RunningSandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

async function call(method: string, path: string, body?: unknown, token = sb!.token) {
  const res = await fetch(`${sb!.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('the FullStory sandbox', () => {
  it('a wrong token is 401; a rotated token revokes the old one', async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    expect((await call('GET', '/Users', undefined, 'nope')).status).toBe(401);
    const old = sb.token;
    sb.rotateToken();
    expect((await call('GET', '/Users', undefined, old)).status).toBe(401);
    expect((await call('GET', '/Users')).status).toBe(200);
  });

  it('SCIM not enabled is 403 by default and a bad-token 401 under the strict profile', async () => {
    sb = await startSandbox({ patch: { scimEnabled: false } });
    const res = await call('GET', '/Users');
    expect(res.status).toBe(403);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    await sb.close();
    sb = await startSandbox({ profile: 'strict', patch: { scimEnabled: false } });
    const strict = await call('GET', '/Users');
    const badToken = await call('GET', '/Users', undefined, 'nope');
    expect(strict.status).toBe(401);
    expect(strict.body).toEqual(badToken.body);
    expect(strict.body).toMatchObject({ code: 'unauthenticated' });
  });

  it('the rate limit answers 429 with Retry-After in whole seconds, and counters see every request', async () => {
    sb = await startSandbox({ patch: { rateLimit: { perSecond: 1, burst: 3, headers: true } } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call('GET', '/Users')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const limited = await call('GET', '/Users');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('1');
    expect(sb.counters.count({ method: 'GET', route: '/Users', status: 429 })).toBe(3);
  });

  it('userName is unique case-insensitively; deactivated users stay listed; PUT without active leaves it', async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    const a = await call('POST', '/Users', { userName: 'A@x.com', active: true });
    expect(a.status).toBe(201);
    expect(a.body.roles).toEqual([{ value: 'standard' }]);
    expect((await call('POST', '/Users', { userName: 'a@X.com' })).status).toBe(409);
    await call('PUT', `/Users/${a.body.id}`, { userName: 'A@x.com', active: false });
    expect((await call('PUT', `/Users/${a.body.id}`, { userName: 'A@x.com' })).body.active).toBe(false);
    const list = await call('GET', '/Users?filter=' + encodeURIComponent('userName eq "a@x.com"'));
    expect(list.body.Resources[0].active).toBe(false);
  });

  it('a role the plan lacks is 400 invalidValue; capitalised ops are refused; a seat cap is 403', async () => {
    sb = await startSandbox({ patch: { rateLimit: null, plan: 'business', seatCap: 1 } });
    expect((await call('POST', '/Users', { userName: 'r@x.com', roles: [{ value: 'architect' }] })).body.scimType).toBe('invalidValue');
    const u = await call('POST', '/Users', { userName: 'ok@x.com' });
    expect(u.status).toBe(201);
    expect((await call('PATCH', `/Users/${u.body.id}`, { Operations: [{ op: 'Replace', path: 'active', value: false }] })).status).toBe(400);
    expect((await call('POST', '/Users', { userName: 'over@x.com' })).status).toBe(403);
    expect((await call('POST', '/Users', { userName: 'guest@x.com', roles: [{ value: 'guest' }] })).status).toBe(201);
  });

  it('role counts agree with the per-user role listing', async () => {
    sb = await startSandbox({ patch: { rateLimit: null } });
    for (const [userName, role] of [
      ['a@x.com', 'admin'],
      ['s1@x.com', 'standard'],
      ['s2@x.com', 'standard'],
    ]) {
      expect((await call('POST', '/Users', { userName, roles: [{ value: role }] })).status).toBe(201);
    }
    const origin = new URL(sb.url).origin;
    const listing = (await (await fetch(`${origin}/_sandbox/roles`)).json()) as Record<string, string>;
    const counts = (await (await fetch(`${origin}/_sandbox/role-counts`)).json()) as Record<string, number>;
    const fromListing: Record<string, number> = {};
    for (const role of Object.values(listing)) fromListing[role] = (fromListing[role] ?? 0) + 1;
    expect(counts).toEqual(fromListing);
    expect(counts).toMatchObject({ admin: 1, standard: 2 });
  });

  it('strict: no PATCH, no DELETE, no discovery, userName-only filters, FullStory-style errors', async () => {
    sb = await startSandbox({ profile: 'strict', patch: { rateLimit: null } });
    const u = await call('POST', '/Users', { userName: 's@x.com', externalId: 'e1' });
    expect(u.body.externalId).toBeUndefined();
    expect((await call('PATCH', `/Users/${u.body.id}`, { Operations: [] })).status).toBe(405);
    expect((await call('DELETE', `/Users/${u.body.id}`)).status).toBe(405);
    expect((await call('GET', '/ServiceProviderConfig')).status).toBe(404);
    const f = await call('GET', '/Users?filter=' + encodeURIComponent('externalId eq "e1"'));
    expect(f.status).toBe(400);
    expect(f.body).toEqual({ message: 'Unsupported filter attribute externalId', code: 'invalid_argument' });
    expect((await call('PATCH', '/Groups/x', {})).status).toBe(405);
  });

  it('faults: a reset after the write applies the write but loses the answer', async () => {
    sb = await startSandbox({ patch: { rateLimit: null, faults: { resetRate: 1 } } });
    await expect(call('POST', '/Users', { userName: 'lost@x.com' })).rejects.toThrow();
    sb.set({ faults: { resetRate: 0 } });
    const found = await call('GET', '/Users?filter=' + encodeURIComponent('userName eq "lost@x.com"'));
    expect(found.body.totalResults).toBe(1);
  });
});
