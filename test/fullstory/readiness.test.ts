import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { eventually, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

describe('readiness follows FullStory as it is now, not as it was at startup', () => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  const setup = async (scimDisabledStatus: 401 | 403) => {
    const sb: RunningSandbox = await startSandbox({ patch: { rateLimit: null, scimDisabledStatus } });
    open.push(sb);
    const t: TestBridge = await startTestBridge({ sharedSandbox: sb });
    open.push(t);
    const ready = async () => {
      const r = await t.bridge.app.inject({ url: '/readyz' });
      return { status: r.statusCode, body: r.json() };
    };
    const metric = async (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec((await t.bridge.app.inject({ url: '/metrics' })).body)?.[1] ?? 'NaN');
    expect((await ready()).status).toBe(200);
    return { sb, t, ready, metric };
  };

  it('a token revoked mid-run: /readyz turns 503 within seconds with the plain diagnosis and since when, and comes back by itself', async () => {
    const { sb, t, ready, metric } = await setup(401);
    const id = (await t.req('POST', U, oktaUser('before@okta.local'))).body.id;
    const token = sb.token;
    sb.rotateToken();
    const refused = await t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    const down = await eventually(
      async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      },
      '/readyz to say 503',
      5_000,
    );
    expect(down!.body.fullstory).toMatch(/token/i);
    expect(Date.parse(down!.body.fullstoryUnusableSince)).toBeLessThanOrEqual(Date.now());
    expect(await metric('scim_bridge_fullstory_unusable')).toBe(1);
    // The IdP is told to come back, in the same words.
    const answer = await t.req('GET', U);
    expect([answer.status, answer.headers['retry-after']]).toEqual([503, expect.any(String)]);
    sb.token = token;
    await eventually(async () => (await ready()).status === 200, '/readyz to recover', 20_000);
    expect((await ready()).body.fullstoryUnusableSince).toBeUndefined();
    expect(await metric('scim_bridge_fullstory_unusable')).toBe(0);
  });

  it('SCIM switched off mid-run (403): the refusal the IdP got is counted for the alert, and /readyz says SCIM is off', async () => {
    const { sb, t, ready, metric } = await setup(403);
    const id = (await t.req('POST', U, oktaUser('off@okta.local'))).body.id;
    sb.set({ scimEnabled: false });
    const refused = await t.req('PATCH', `${U}/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] });
    expect(refused.status).toBe(403);
    expect(await metric('scim_bridge_idp_refused_by_fullstory_total')).toBe(1);
    const down = await eventually(
      async () => {
        const r = await ready();
        return r.status === 503 ? r : undefined;
      },
      '/readyz to say 503',
      5_000,
    );
    expect(down!.body.fullstory).toMatch(/SCIM provisioning is not enabled/);
    sb.set({ scimEnabled: true });
    await eventually(async () => (await ready()).status === 200, '/readyz to recover', 20_000);
  });
});
