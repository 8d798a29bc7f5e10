import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDP_TOKEN, oktaUser, databases, startTestBridge, type TestBridge } from '../helpers/bridge.js';
import { expectScimError } from '../helpers/scim-assert.js';

/** Spellings of SCIM paths that the router routes as /scim/v2/...: each must meet the same edge. */
const SPELLINGS = ['/%73cim/v2/Users', '/scim/%76%32/Users', '/scim/v2/%55sers', '/%73%63%69%6d/v2/Users/', '/scim/v2/Users/'];

const dbs = await databases();

// On PostgreSQL the throttle's count is the one replicas share.
describe.each(dbs)('every edge check runs on what the router routes, however the path is spelled, on %s', (db) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ db, config: { idp: { allowedCidrs: ['127.0.1.0/24'], authFailureLimit: 3 } } });
  });
  afterAll(async () => t?.close());

  const send = (method: 'GET' | 'POST', url: string, from: string, token?: string, body?: unknown) =>
    t.bridge.app.inject({
      method,
      url,
      remoteAddress: from,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/scim+json' } : {}) },
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
  // Each check from an allowed address of its own, so the throttle of one does not answer for another.
  let next = 1;
  const allowed = () => `127.0.1.${next++}`;
  const parsed = (r: { statusCode: number; body: string; headers: Record<string, unknown> }) => ({
    status: r.statusCode,
    body: JSON.parse(r.body),
    headers: r.headers as Record<string, string>,
  });

  it.each(SPELLINGS)('%s from an address outside IDP_ALLOWED_CIDRS is refused 403 and creates nobody', async (path) => {
    const writes = t.sandbox.counters.writes();
    const res = parsed(await send('POST', path, '127.0.0.2', IDP_TOKEN, oktaUser(`edge${path.length}@okta.local`)));
    expectScimError(res, 403);
    expect(t.sandbox.counters.writes()).toBe(writes);
    // The same spelling from an allowed address is routed and served: the refusal was the edge's.
    expect((await send('GET', path, allowed(), IDP_TOKEN)).statusCode).toBe(200);
  });

  it('an unknown path below /scim/v2 meets the edge and the token check too (403 outside, 401 without a token)', async () => {
    expectScimError(parsed(await send('GET', '/%73cim/v2/Nothing', '127.0.0.2', IDP_TOKEN)), 403);
    expectScimError(parsed(await send('GET', '/scim/v2/Nothing', allowed())), 401);
    expectScimError(parsed(await send('GET', '/scim/v2/Nothing', allowed(), IDP_TOKEN)), 404);
  });

  it.each(SPELLINGS)('a token in the query string of %s is refused 400, never used', async (path) => {
    expectScimError(parsed(await send('GET', `${path}?access_token=${IDP_TOKEN}`, allowed())), 400, 'invalidSyntax');
  });

  it.each(SPELLINGS)('%s without a token is 401', async (path) => {
    expectScimError(parsed(await send('GET', path, allowed())), 401);
  });

  it('failed token checks through any spelling count against one throttle for the address', async () => {
    const inside = allowed();
    for (const path of SPELLINGS.slice(0, 3)) expectScimError(parsed(await send('GET', path, inside, 'wrong')), 401);
    for (const path of ['/scim/v2/Users', ...SPELLINGS]) {
      const res = parsed(await send('GET', path, inside, IDP_TOKEN));
      expectScimError(res, 429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
  });

  it.each(['/scim/v2/Users/%ff', '/scim/v2/%E0%A4%A', '/%ff', '/scim/v2/Groups/%c0%af'])(
    'an undecodable URL (%s) is a SCIM Error, not the framework’s own body',
    async (url) => {
      const res = parsed(await send('GET', url, allowed(), IDP_TOKEN));
      expectScimError(res, 400, 'invalidSyntax');
    },
  );
});
