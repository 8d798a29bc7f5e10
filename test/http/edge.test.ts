import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { eventually, IDP_TOKEN, databases, startTestBridge, tempSchema, U, type TestBridge } from '../helpers/bridge.js';
import { makeCa } from '../helpers/certs.js';

const dbs = await databases();

interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
  serial?: string;
}

/** One request from a given source address, over HTTP or HTTPS (trusting only `ca`). */
function call(
  url: string,
  opts: { token?: string; from?: string; ca?: string; headers?: Record<string, string>; body?: string; method?: string } = {},
): Promise<Answer> {
  const secure = url.startsWith('https:');
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: opts.method ?? 'GET',
        agent: false,
        ...(opts.from ? { localAddress: opts.from } : {}),
        ...(secure ? { ca: opts.ca } : {}),
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body ? { 'content-type': 'application/scim+json' } : {}),
          ...opts.headers,
        },
      },
      (res) => {
        let body = '';
        const serial = secure ? (res.socket as unknown as { getPeerCertificate(): { serialNumber: string } }).getPeerCertificate().serialNumber : undefined;
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ...(serial ? { serial } : {}) }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('TLS built in', () => {
  const open: { close: () => Promise<void> | void }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });

  it('serves HTTPS with its certificate to a client that trusts only the test CA; /healthz too; TLS 1.1 is refused', async () => {
    const ca = makeCa();
    const pair = ca.issue('bridge');
    const t = await startTestBridge({ config: { server: { tls: { certFile: pair.certFile, keyFile: pair.keyFile } } } });
    open.push(t);
    const base = await t.bridge.app.listen({ port: 0, host: '127.0.0.1' });
    expect(base).toMatch(/^https:/);
    expect((await call(`${base}/healthz`, { ca: ca.caCert })).status).toBe(200);
    const users = await call(`${base}${U}`, { ca: ca.caCert, token: IDP_TOKEN });
    expect([users.status, users.serial?.toLowerCase()]).toEqual([200, pair.serial.toLowerCase()]);
    await expect(call(`${base}/healthz`)).rejects.toThrow(/self.signed|unable to verify|certificate/i);

    const old = (port: number) =>
      new Promise<string>((resolve) => {
        const s = tlsConnect(
          { host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' },
          () => resolve(`connected ${s.getProtocol()}`),
        );
        s.on('error', (e) => resolve(`refused ${e.message}`));
      });
    // The same old client does connect to a server that allows TLS 1.1: the refusal is the bridge's.
    const legacy = tlsServer({ key: readFileSync(pair.keyFile), cert: readFileSync(pair.certFile), minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }, (s) =>
      s.end(),
    );
    await new Promise<void>((r) => legacy.listen(0, '127.0.0.1', r));
    open.push({ close: () => void legacy.close() });
    expect(await old((legacy.address() as { port: number }).port)).toBe('connected TLSv1.1');
    expect(await old(Number(new URL(base).port))).toMatch(/^refused/);
  });

  it('a replaced certificate is served after SIGHUP-style reload while a request is in flight, which completes', async () => {
    const ca = makeCa();
    const first = ca.issue('bridge');
    const second = ca.issue('bridge');
    const dir = mkdtempSync(join(tmpdir(), 'fsb-tls-'));
    const live = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
    copyFileSync(first.certFile, live.certFile);
    copyFileSync(first.keyFile, live.keyFile);
    const t = await startTestBridge({ config: { server: { tls: live } } });
    open.push(t);
    const base = await t.bridge.app.listen({ port: 0, host: '127.0.0.1' });
    // A request whose body is still coming when the certificate changes.
    const inflight = new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest(
        `${base}${U}`,
        { method: 'POST', ca: ca.caCert, agent: false, headers: { authorization: `Bearer ${IDP_TOKEN}`, 'content-type': 'application/scim+json' } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.write('{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],');
      setTimeout(() => {
        copyFileSync(second.certFile, live.certFile);
        copyFileSync(second.keyFile, live.keyFile);
        expect(t.bridge.reloadTls('test')).toBe(true);
        req.end('"userName":"inflight@example.com"}');
      }, 100);
    });
    expect((await inflight).status).toBe(201);
    const after = await call(`${base}/healthz`, { ca: ca.caCert });
    expect(after.serial?.toLowerCase()).toBe(second.serial.toLowerCase());
  });

  it('a missing file or a key that does not match its certificate is a startup error naming the file', async () => {
    const ca = makeCa();
    const a = ca.issue('a');
    const b = ca.issue('b');
    await expect(startTestBridge({ config: { server: { tls: { certFile: '/nonexistent/tls.crt', keyFile: a.keyFile } } } })).rejects.toThrow(
      /\/nonexistent\/tls\.crt/,
    );
    await expect(startTestBridge({ config: { server: { tls: { certFile: a.certFile, keyFile: b.keyFile } } } })).rejects.toThrow(
      new RegExp(`${b.keyFile}.*${a.certFile}.*cannot be used together`),
    );
  });
});

describe('secrets from files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsb-secrets-'));
  const file = (name: string, value: string) => {
    const f = join(dir, name);
    writeFileSync(f, value);
    return f;
  };

  it.each([
    ['FULLSTORY_SCIM_TOKEN', (c: ReturnType<typeof loadConfig>) => c.fullstory.token, 'fs-secret-token'],
    ['IDP_TOKEN', (c: ReturnType<typeof loadConfig>) => c.idp.token, 'idp-secret-token-0123456789'],
    ['DATABASE_URL', (c: ReturnType<typeof loadConfig>) => c.database.url, 'postgres://u:p@db:5432/bridge'],
  ] as const)('%s_FILE is read, its trailing newline trimmed', (name, get, value) => {
    expect(get(loadConfig({ [`${name}_FILE`]: file(name, `${value}\n`) }))).toBe(value);
  });

  it('IDP_TOKENS_FILE holds the named hashes', () => {
    const hash = 'a'.repeat(64);
    expect(loadConfig({ IDP_TOKENS_FILE: file('tokens', `okta:${hash}\n`) }).idp.tokens).toEqual([{ name: 'okta', sha256: hash }]);
  });

  it('a variable and its _FILE twin both set is an error; an unreadable file names itself', () => {
    expect(() => loadConfig({ IDP_TOKEN: 'x'.repeat(20), IDP_TOKEN_FILE: file('t', 'y'.repeat(20)) })).toThrow(/IDP_TOKEN and IDP_TOKEN_FILE are both set/);
    expect(() => loadConfig({ FULLSTORY_SCIM_TOKEN_FILE: '/nonexistent/token' })).toThrow(/FULLSTORY_SCIM_TOKEN_FILE \/nonexistent\/token: ENOENT/);
  });

  it('a token file rewritten is taken on reload (SIGHUP): the new token works, the old one is refused', async () => {
    const tokenFile = file('idp', 'first-token-0123456789abcdef\n');
    const t = await startTestBridge();
    try {
      t.bridge.reloadTokens(loadConfig({ IDP_TOKEN_FILE: tokenFile }));
      expect((await t.req('GET', U, undefined, { authorization: 'Bearer first-token-0123456789abcdef' })).status).toBe(200);
      writeFileSync(tokenFile, 'second-token-0123456789abcdef\n');
      t.bridge.reloadTokens(loadConfig({ IDP_TOKEN_FILE: tokenFile }));
      expect((await t.req('GET', U, undefined, { authorization: 'Bearer second-token-0123456789abcdef' })).status).toBe(200);
      expect((await t.req('GET', U, undefined, { authorization: 'Bearer first-token-0123456789abcdef' })).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});

describe.each(dbs)('address allowlists and throttled failed logins on %s', (db) => {
  const open: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) await o.close();
  });
  const listen = async (t: TestBridge) => t.bridge.app.listen({ port: 0, host: '127.0.0.1' });

  it('IDP_ALLOWED_CIDRS: 127.0.0.2 is refused 403 with a SCIM Error and an audit row, before any token check; 127.0.0.1 is served', async () => {
    const t = await startTestBridge({ db, config: { idp: { allowedCidrs: '127.0.0.1/32,::1/128' } } });
    open.push(t);
    const base = await listen(t);
    const refused = await call(`${base}${U}`, { from: '127.0.0.2', token: IDP_TOKEN });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '403' });
    expect((await call(`${base}${U}`, { from: '127.0.0.2' })).status).toBe(403);
    expect((await call(`${base}${U}`, { from: '127.0.0.1', token: IDP_TOKEN })).status).toBe(200);
    expect((await call(`${base}/healthz`, { from: '127.0.0.2' })).status).toBe(200);
    await eventually(async () => (await t.sql<{ n: number }>("select count(*) as n from audit where operation = 'auth.address'"))[0]!.n >= 2, 'audit rows');
  });

  it('with TRUST_PROXY listing the proxy, the client address comes from its X-Forwarded-For, and only from it', async () => {
    const t = await startTestBridge({ db, config: { idp: { allowedCidrs: '10.0.0.0/8' }, server: { trustProxy: '127.0.0.1' } } });
    open.push(t);
    const base = await listen(t);
    const xff = { 'x-forwarded-for': '10.1.2.3' };
    expect((await call(`${base}${U}`, { from: '127.0.0.1', token: IDP_TOKEN, headers: xff })).status).toBe(200);
    expect((await call(`${base}${U}`, { from: '127.0.0.2', token: IDP_TOKEN, headers: xff })).status).toBe(403);
    expect((await call(`${base}${U}`, { from: '127.0.0.1', token: IDP_TOKEN, headers: { 'x-forwarded-for': '192.0.2.9' } })).status).toBe(403);
  });

  it('past AUTH_FAILURE_LIMIT wrong tokens one address gets 429 whatever it sends, another provisions; counted by reason, audited once', async () => {
    const t = await startTestBridge({ db, config: { idp: { authFailureLimit: 3 } } });
    open.push(t);
    const base = await listen(t);
    for (let i = 0; i < 3; i++) expect((await call(`${base}${U}`, { from: '127.0.0.2', token: `wrong-${i}` })).status).toBe(401);
    const held = await call(`${base}${U}`, { from: '127.0.0.2', token: IDP_TOKEN });
    expect(held.status).toBe(429);
    expect(Number(held.headers['retry-after'])).toBeGreaterThan(0);
    const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `edge-${db}@example.com` });
    expect((await call(`${base}${U}`, { from: '127.0.0.1', token: IDP_TOKEN, method: 'POST', body })).status).toBe(201);
    const metrics = (await call(`${base}/metrics`)).body;
    expect(metrics).toMatch(/scim_bridge_auth_failures_total\{reason="invalid"\} 3/);
    expect(metrics).toMatch(/scim_bridge_auth_failures_total\{reason="throttled"\} 1/);
    await eventually(
      async () => (await t.sql<{ n: number }>("select count(*) as n from audit where operation = 'auth.failure'"))[0]!.n == 1,
      'one audit row for the burst',
    );
  });

  if (db === 'postgres') {
    it('the throttle is shared: failures on one replica hold the address on another', async () => {
      const schema = await tempSchema();
      open.push({ close: schema.drop });
      const a = await startTestBridge({ db, pgSchema: schema.schema, config: { idp: { authFailureLimit: 3 } } });
      open.push(a);
      const b = await startTestBridge({ db, pgSchema: schema.schema, sharedSandbox: a.sandbox, config: { idp: { authFailureLimit: 3 } } });
      open.push(b);
      const [baseA, baseB] = [await listen(a), await listen(b)];
      for (let i = 0; i < 3; i++) await call(`${baseA}${U}`, { from: '127.0.0.2', token: 'wrong' });
      await eventually(
        async () => (await call(`${baseB}${U}`, { from: '127.0.0.2', token: IDP_TOKEN })).status === 429,
        'replica B to hold the address',
        5_000,
      );
      expect((await call(`${baseB}${U}`, { from: '127.0.0.1', token: IDP_TOKEN })).status).toBe(200);
    });
  }
});

describe('tokens never in URLs', () => {
  it('a token in the query string is refused 400 and never logged', async () => {
    const t = await startTestBridge();
    try {
      const res = await t.req('GET', `${U}?access_token=leaky-secret-value-123`);
      expect([res.status, res.body.status]).toEqual([400, '400']);
      expect((await t.req('GET', `${U}?filter=userName%20eq%20%22a%22&Token=leaky-secret-value-123`)).status).toBe(400);
      expect(t.logs()).not.toContain('leaky-secret-value-123');
    } finally {
      await t.close();
    }
  });
});
