import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, G, IDP_TOKEN, oktaUser, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

describe('ops endpoints', () => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ config: { roles: { groups: { Admins: 'admin' } } }, startWorker: false });
  });
  afterAll(async () => t?.close());

  it('/healthz answers without auth, cheaply, and stays out of the access log', async () => {
    const before = t.logs().length;
    const res = await t.bridge.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    await t.bridge.app.inject({ url: '/readyz' });
    await t.bridge.app.inject({ url: '/metrics' });
    expect(t.logs().slice(before)).not.toMatch(/healthz|readyz|metrics/);
  });

  it('/readyz reports the store, the last preflight, and the role-sync backlog with its oldest age', async () => {
    const u = (await t.req('POST', U, oktaUser('ready@okta.local'))).body.id;
    await t.req('POST', G, { displayName: 'Admins', members: [{ value: u }] });
    const res = await t.bridge.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ready', store: 'ok', fullstory: 'ok', roleSync: { backlog: 1, failing: 0 } });
    expect(res.json().roleSync.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(res.json().lastPreflightAt).toEqual(expect.any(String));
  });

  it('/metrics: requests by route, method and status; FullStory calls; backlog; tokens by name, never by value', async () => {
    await t.req('GET', `${U}?count=1`);
    await t.req('GET', U, undefined, { authorization: 'Bearer wrong' });
    const res = await t.bridge.app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toMatch(/scim_bridge_requests_total\{route="\/scim\/v2\/Users",method="GET",status="200"\} \d+/);
    expect(text).toMatch(/scim_bridge_requests_total\{route="\/scim\/v2\/Users",method="POST",status="201"\} 1/);
    expect(text).toMatch(/scim_bridge_upstream_calls_total\{operation="users.create",status="201"\} 1/);
    expect(text).toMatch(/scim_bridge_upstream_duration_seconds_bucket/);
    expect(text).toMatch(/scim_bridge_role_sync_backlog 1/);
    expect(text).toMatch(/scim_bridge_idp_token_requests_total\{token="IDP_TOKEN"\} \d+/);
    expect(text).not.toContain(IDP_TOKEN);
    expect(text).not.toContain(t.sandbox.token);
  });

  it('/metrics: every request is counted once in its latency histogram, the buckets cumulative up to +Inf', async () => {
    const id = (await t.req('POST', U, oktaUser('histogram@okta.local'))).body.id;
    const series = async () => {
      const text = (await t.bridge.app.inject({ url: '/metrics' })).body;
      const of = (suffix: string, extra = '') => {
        const m = new RegExp(`scim_bridge_request_duration_seconds_${suffix}\\{route="/scim/v2/Users/:id",method="GET"${extra}\\} ([0-9.e+-]+)`).exec(text);
        return m ? Number(m[1]) : 0;
      };
      const buckets = [...text.matchAll(/scim_bridge_request_duration_seconds_bucket\{route="\/scim\/v2\/Users\/:id",method="GET",le="([^"]+)"\} (\d+)/g)].map(
        (m) => Number(m[2]),
      );
      const count = (text.match(/scim_bridge_requests_total\{route="\/scim\/v2\/Users\/:id",method="GET",status="200"\} (\d+)/) ?? [])[1];
      return { count: of('count'), inf: of('bucket', ',le="\\+Inf"'), sum: of('sum'), buckets, requests: Number(count ?? 0) };
    };
    const before = await series();
    for (let i = 0; i < 5; i++) expect((await t.req('GET', `${U}/${id}`)).status).toBe(200);
    const after = await series();
    expect(after.count - before.count).toBe(5);
    expect(after.requests - before.requests).toBe(5);
    expect(after.inf).toBe(after.count);
    expect(after.sum).toBeGreaterThan(before.sum);
    expect(after.buckets.length).toBe(13);
    expect(after.buckets.every((n, i) => i === 0 || n >= after.buckets[i - 1]!)).toBe(true);
  });

  it('one access-log line per request: changes and failures at info, successful reads only at debug', async () => {
    const before = t.logs().length;
    const created = await t.req('POST', U, oktaUser('access.log@okta.local'));
    await t.req('GET', `${U}/${created.body.id}`);
    await t.req('GET', `${U}/no-such-user`);
    const lines = t
      .logs()
      .slice(before)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; method?: string; url?: string; statusCode?: number; reqId?: string });
    const completed = lines.filter((l) => l.msg === 'request completed');
    const levelOf = (method: string, status: number) => completed.filter((l) => l.method === method && l.statusCode === status).map((l) => l.level);
    expect(levelOf('POST', 201)).toEqual([30]);
    expect(levelOf('GET', 200)).toEqual([20]);
    expect(levelOf('GET', 404)).toEqual([30]);
    expect(completed.every((l) => typeof l.reqId === 'string' && typeof l.url === 'string')).toBe(true);
    expect(lines.filter((l) => l.msg === 'incoming request')).toEqual([]);
  });

  it('log lines carry request ids and never a token, however the request went', async () => {
    await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "x"')}`);
    await t.req('GET', U, undefined, { authorization: `Bearer ${IDP_TOKEN}x` });
    const lines = t
      .logs()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => typeof l.reqId === 'string')).toBe(true);
    const all = t.logs();
    for (const secret of [IDP_TOKEN, t.sandbox.token, 'Bearer ']) expect(all).not.toContain(secret);
  });
});

describe('graceful shutdown', () => {
  it('in-flight requests finish and new ones are refused, within the grace period', async () => {
    const t = await startTestBridge({ sandbox: { faults: { latencyMs: 300 } }, config: { roles: { groups: { Admins: 'admin' } } } });
    const address = await t.bridge.app.listen({ port: 0, host: '127.0.0.1' });
    const headers = { authorization: `Bearer ${IDP_TOKEN}`, 'content-type': 'application/scim+json' };
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(t.sandbox.state.createUser({ userName: `drain${i}@example.com` }).id);
    await t.bridge.deps.store.transaction((tx) =>
      tx.users.adopt(ids.map((id, i) => ({ id, resource: { userName: `drain${i}@example.com` }, role: 'standard' }))),
    );
    await t.req('POST', G, { displayName: 'Admins', members: ids.map((value) => ({ value })) });
    await eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog < 30, 'worker started');
    const order: string[] = [];
    // In flight: the server has the request (Fastify's own listener ran first), not "50 ms have passed".
    const arrived = new Promise((r) => t.bridge.app.server.once('request', r));
    const inflight = fetch(`${address}${U}`, { method: 'POST', headers, body: JSON.stringify(oktaUser('in.flight@okta.local')) }).then(
      (r) => (order.push('answered'), r),
    );
    await arrived;
    await t.close().then(() => order.push('closed'));
    const res = await inflight;
    expect(res.status).toBe(201);
    // close() waited for the request it found in flight (the sandbox takes 300 ms to answer it).
    expect(order).toEqual(['answered', 'closed']);
    await expect(fetch(`${address}/healthz`)).rejects.toThrow();
    expect(t.sandbox.state.findUsers([{ attr: 'username', value: 'in.flight@okta.local' }])).toHaveLength(1);
  });

  it('a stopped worker finishes its batch and hands back every claim it had not started', async () => {
    const t = await startTestBridge({ sandbox: { faults: { latencyMs: 200 } }, config: { roles: { groups: { Admins: 'admin' } }, sync: { concurrency: 2 } } });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push(t.sandbox.state.createUser({ userName: `claim${i}@example.com` }).id);
      await t.bridge.deps.store.transaction((tx) =>
        tx.users.adopt(ids.map((id, i) => ({ id, resource: { userName: `claim${i}@example.com` }, role: 'standard' }))),
      );
      await t.req('POST', G, { displayName: 'Admins', members: ids.map((value) => ({ value })) });
      await eventually(async () => (await t.bridge.deps.store.read((r) => r.roleSync.stats())).backlog < 40, 'some applied');
      await t.bridge.core.worker.stop();
      const rows = await t.sql<{ claimed_by: string | null }>('select * from role_sync');
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.filter((r) => r.claimed_by !== null)).toEqual([]);
      const applied = [...t.sandbox.roles().values()].filter((r) => r === 'admin').length;
      expect(applied + rows.length).toBe(40);
    } finally {
      await t.close();
    }
  });
});
