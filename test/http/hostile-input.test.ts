import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G, GROUP_SCHEMA, IDP_TOKEN, oktaUser, databases, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';
import { expectScimError, snapshot } from '../helpers/scim-assert.js';

const dbs = await databases();

describe.each(dbs)('hostile and broken input on %s', (db) => {
  let t: TestBridge;
  let userId: string;
  let groupId: string;
  beforeAll(async () => {
    // Many wrong tokens from one address here are about 401s, not the throttle (test/http/edge.test.ts).
    t = await startTestBridge({
      db,
      config: { server: { bodyLimitBytes: 64 * 1024 }, roles: { groups: { Admins: 'admin' } }, idp: { authFailureLimit: 10_000 } },
    });
    userId = (await t.req('POST', U, oktaUser('target@okta.local'))).body.id;
    groupId = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Target', members: [{ value: userId }] })).body.id;
  });
  afterAll(async () => t?.close());

  const cases: [string, string, string, unknown, number, string | undefined, Record<string, string>?][] = [
    ['invalid JSON', 'POST', U, '{"userName": "x@y.com",', 400, 'invalidSyntax'],
    ['an empty body', 'POST', U, '', 400, undefined],
    ['a JSON array body', 'POST', U, [oktaUser('arr@x.com')], 400, 'invalidSyntax'],
    ['wrong content type', 'POST', U, 'userName=x', 415, undefined, { 'content-type': 'application/x-www-form-urlencoded' }],
    ['text/plain', 'POST', U, JSON.stringify(oktaUser('tp@x.com')), 415, undefined, { 'content-type': 'text/plain' }],
    ['wrong schemas', 'POST', U, { schemas: [GROUP_SCHEMA], userName: 'ws@x.com' }, 400, 'invalidSyntax'],
    ['an unknown attribute', 'POST', U, { schemas: [USER_SCHEMA], userName: 'ua@x.com', favouriteColour: 'blue' }, 400, 'invalidValue'],
    ['a number for userName', 'POST', U, { schemas: [USER_SCHEMA], userName: 42 }, 400, 'invalidValue'],
    ['an object for active', 'POST', U, { schemas: [USER_SCHEMA], userName: 'obj@x.com', active: { yes: true } }, 400, 'invalidValue'],
    ['a string for emails', 'POST', U, { schemas: [USER_SCHEMA], userName: 'em@x.com', emails: 'em@x.com' }, 400, 'invalidValue'],
    ['no userName', 'POST', U, { schemas: [USER_SCHEMA], displayName: 'Nobody' }, 400, 'invalidValue'],
    ['a NUL in userName', 'POST', U, { schemas: [USER_SCHEMA], userName: 'nul\u0000@x.com' }, 400, 'invalidValue'],
    ['a lone surrogate', 'POST', U, `{"schemas":["${USER_SCHEMA}"],"userName":"s\\ud800@x.com"}`, 400, 'invalidValue'],
    ['a very long string', 'POST', U, { schemas: [USER_SCHEMA], userName: `${'a'.repeat(5000)}@x.com` }, 400, 'invalidValue'],
    ['JSON nested 10,000 deep', 'POST', U, `{"userName":"d@x.com","name":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400, 'invalidSyntax'],
    ['a body over the limit', 'POST', U, { schemas: [USER_SCHEMA], userName: 'big@x.com', title: 'x'.repeat(70 * 1024) }, 413, undefined],
    ['a PATCH without Operations', 'PATCH', `${U}/:user`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] }, 400, 'invalidSyntax'],
    ['a PATCH with an unknown op', 'PATCH', `${U}/:user`, { Operations: [{ op: 'merge', path: 'displayName', value: 'x' }] }, 400, 'invalidSyntax'],
    ['a PATCH on a read-only attribute', 'PATCH', `${U}/:user`, { Operations: [{ op: 'replace', path: 'id', value: 'mine' }] }, 400, 'mutability'],
    ['a PATCH on meta', 'PATCH', `${U}/:user`, { Operations: [{ op: 'replace', path: 'meta.created', value: 'x' }] }, 400, 'mutability'],
    ['a PATCH path that is not a path', 'PATCH', `${U}/:user`, { Operations: [{ op: 'replace', path: 'name[[', value: 'x' }] }, 400, 'invalidPath'],
    ['a PATCH path to an unknown attribute', 'PATCH', `${U}/:user`, { Operations: [{ op: 'replace', path: 'shoeSize', value: 9 }] }, 400, 'invalidPath'],
    [
      'a PATCH path carrying SQL',
      'PATCH',
      `${U}/:user`,
      { Operations: [{ op: 'replace', path: "displayName'; DROP TABLE users; --", value: 'x' }] },
      400,
      'invalidPath',
    ],
    ['a PATCH remove without a path', 'PATCH', `${U}/:user`, { Operations: [{ op: 'remove' }] }, 400, 'noTarget'],
    ['a PATCH replacing active with a number', 'PATCH', `${U}/:user`, { Operations: [{ op: 'replace', path: 'active', value: 0 }] }, 400, 'invalidValue'],
    [
      'a PATCH whose third op fails',
      'PATCH',
      `${U}/:user`,
      {
        Operations: [
          { op: 'replace', path: 'displayName', value: 'A' },
          { op: 'add', path: 'nickName', value: 'B' },
          { op: 'replace', path: 'userName', value: 7 },
        ],
      },
      400,
      'invalidValue',
    ],
    [
      'too many operations',
      'PATCH',
      `${U}/:user`,
      { Operations: Array.from({ length: 1001 }, () => ({ op: 'replace', path: 'displayName', value: 'x' })) },
      400,
      'tooMany',
    ],
    ['a filter that is not a filter', 'GET', `${U}?filter=${encodeURIComponent('userName eq')}`, undefined, 400, 'invalidFilter'],
    ['an operator RFC 7644 does not have', 'GET', `${U}?filter=${encodeURIComponent('userName xx "a"')}`, undefined, 400, 'invalidFilter'],
    ['a dangling and', 'GET', `${U}?filter=${encodeURIComponent('userName eq "a" and')}`, undefined, 400, 'invalidFilter'],
    ['a dangling or', 'GET', `${U}?filter=${encodeURIComponent('userName eq "a" or')}`, undefined, 400, 'invalidFilter'],
    ['brackets that do not pair', 'GET', `${U}?filter=${encodeURIComponent('(userName eq "a" or displayName co "b"')}`, undefined, 400, 'invalidFilter'],
    ['a filter on an unknown attribute', 'GET', `${U}?filter=${encodeURIComponent('password eq "a"')}`, undefined, 400, 'invalidFilter'],
    ['an over-long filter', 'GET', `${U}?filter=${encodeURIComponent(`userName eq "${'a'.repeat(2000)}"`)}`, undefined, 400, 'invalidFilter'],
    [
      'deeply nested parentheses',
      'GET',
      `${U}?filter=${encodeURIComponent(`${'('.repeat(300)}userName eq "a"${')'.repeat(300)}`)}`,
      undefined,
      400,
      'invalidFilter',
    ],
    ['an unterminated string in a filter', 'GET', `${U}?filter=${encodeURIComponent('userName eq "abc')}`, undefined, 400, 'invalidFilter'],
    ['a group with an unknown member', 'POST', G, { displayName: 'Ghosts', members: [{ value: "x' OR '1'='1" }] }, 400, 'invalidValue'],
    [
      'a group member without value',
      'PATCH',
      `${G}/:group`,
      { Operations: [{ op: 'add', path: 'members', value: [{ display: 'no value' }] }] },
      400,
      'invalidValue',
    ],
    [
      'a group member filter with an unsupported form',
      'PATCH',
      `${G}/:group`,
      { Operations: [{ op: 'remove', path: 'members[display co "x"]' }] },
      400,
      'invalidFilter',
    ],
    ['removing a group displayName', 'PATCH', `${G}/:group`, { Operations: [{ op: 'remove', path: 'displayName' }] }, 400, 'mutability'],
    ['a group without displayName', 'POST', G, { schemas: [GROUP_SCHEMA], members: [] }, 400, 'invalidValue'],
    ['an unknown id', 'GET', `${U}/not-an-id-${'z'.repeat(40)}`, undefined, 404, undefined],
    ['a PUT to an unknown group', 'PUT', `${G}/00000000-0000-0000-0000-000000000000`, { displayName: 'x' }, 404, undefined],
    ['an unknown endpoint', 'GET', '/scim/v2/Bulk', undefined, 404, undefined],
  ];

  it.each(cases)('%s gets a SCIM Error and changes nothing', async (_name, method, rawUrl, body, status, scimType, headers) => {
    const before = await snapshot(t);
    const url = rawUrl.replace(':user', userId).replace(':group', groupId);
    const res = await t.req(method, url, body, headers);
    expectScimError(res, status, scimType);
    expect(await snapshot(t)).toEqual(before);
  });

  it('filter values carrying SQL, LIKE, regular-expression and JSON-path characters are data, never code', async () => {
    const hostile = ["x' OR '1'='1", '%', '_', '.*', '$.userName', "'; DROP TABLE users; --", '\\', '")) OR 1=1 --', '[a-z]+', '%00', 'ü\u200f'];
    const before = await snapshot(t);
    for (const v of hostile) {
      for (const attr of ['userName', 'externalId', 'emails.value', 'emails[type eq "work"].value', 'id']) {
        const res = await t.req('GET', `${U}?filter=${encodeURIComponent(`${attr} eq ${JSON.stringify(v)}`)}`);
        expect(res.status, `${attr} eq ${v}`).toBe(200);
        expect(res.body.totalResults, `${attr} eq ${v}`).toBe(0);
      }
      const g = await t.req('GET', `${G}?filter=${encodeURIComponent(`displayName eq ${JSON.stringify(v)}`)}`);
      expect(g.body.totalResults).toBe(0);
    }
    expect(await snapshot(t)).toEqual(before);
    // ...and stored as data, they come back as written.
    const odd = "o'brien%_\\@example.com";
    const created = await t.req('POST', U, { schemas: [USER_SCHEMA], userName: odd, externalId: "ext'); --" });
    expect(created.status).toBe(201);
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent(`externalId eq ${JSON.stringify("ext'); --")}`)}`);
    expect(found.body.Resources.map((r: any) => r.userName)).toEqual([odd]);
    const wildcard = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "o\'brien%"')}`);
    expect(wildcard.body.totalResults).toBe(0);
  });

  it('case-folding: userNames that differ only in case (Kelvin sign included) are one user', async () => {
    expect((await t.req('POST', U, { schemas: [USER_SCHEMA], userName: 'kim@example.com' })).status).toBe(201);
    const kelvin = await t.req('POST', U, { schemas: [USER_SCHEMA], userName: '\u212Aim@example.com' });
    expect(kelvin.status).toBe(409);
    expect((await t.req('POST', U, { schemas: [USER_SCHEMA], userName: 'KIM@EXAMPLE.COM' })).status).toBe(409);
    // Right-to-left marks are data: stored and returned as sent.
    const rtl = await t.req('POST', U, { schemas: [USER_SCHEMA], userName: 'rtl@example.com', displayName: '\u202Eevil\u202C' });
    expect(rtl.body.displayName).toBe('\u202Eevil\u202C');
  });

  it('count is capped, not rejected; a negative or absurd startIndex and count still answer 200', async () => {
    for (const q of ['count=100000', 'count=-5', 'startIndex=-3', 'startIndex=abc&count=xyz', 'startIndex=1e9', 'count=1.5']) {
      const res = await t.req('GET', `${U}?${q}`);
      expect(res.status, q).toBe(200);
      expect(Number.isInteger(res.body.totalResults)).toBe(true);
      expect(res.body.itemsPerPage).toBeLessThanOrEqual(100);
    }
  });

  it('auth edges: missing, empty, wrong scheme, over-long and near-miss tokens are all 401 and change nothing', async () => {
    const before = await snapshot(t);
    const near = `${IDP_TOKEN.slice(0, -1)}${IDP_TOKEN.endsWith('f') ? 'e' : 'f'}`;
    for (const authorization of [
      '',
      'Bearer',
      'Bearer ',
      `Basic ${IDP_TOKEN}`,
      `Token ${IDP_TOKEN}`,
      `Bearer ${'a'.repeat(8000)}`,
      `Bearer ${near}`,
      `Bearer ${IDP_TOKEN.slice(0, -1)}`,
      `Bearer ${IDP_TOKEN}x`,
      `Bearer ${IDP_TOKEN} extra`,
    ]) {
      const res = await t.req('POST', U, oktaUser(`auth${authorization.length}@x.com`), { authorization });
      expectScimError(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(await snapshot(t)).toEqual(before);
    expect((await t.req('GET', U, undefined, { authorization: `bearer ${IDP_TOKEN}` })).status).toBe(200);
  });

  it('oversized request headers are 431 with a SCIM Error body', async () => {
    const address = await t.bridge.app.listen({ port: 0, host: '127.0.0.1' });
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${address}/scim/v2/Users`, { headers: { authorization: `Bearer ${IDP_TOKEN}`, 'x-padding': 'p'.repeat(40_000) } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    expect(JSON.parse(body)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '431' });
  });
});

describe('a body over the limit, sent in full by a client that reads the answer afterwards', () => {
  let t: TestBridge;
  let port: number;
  beforeAll(async () => {
    t = await startTestBridge({ config: { server: { bodyLimitBytes: 64 * 1024 } } });
    port = Number(new URL(await t.bridge.app.listen({ port: 0, host: '127.0.0.1' })).port);
  });
  afterAll(async () => t?.close());

  /** Like most HTTP clients: writes the whole body, then reads; what it reads, or the error it meets. */
  function send(size: number, declared: boolean): Promise<string> {
    return new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      const framing = declared ? `content-length: ${size}` : 'transfer-encoding: chunked';
      s.write(
        `PATCH /scim/v2/Users/nobody HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${IDP_TOKEN}\r\ncontent-type: application/scim+json\r\n${framing}\r\n\r\n`,
      );
      s.pause();
      let answer = '';
      s.on('data', (d) => (answer += d));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(`${e.code} ${answer}`));
      s.on('close', () => resolve(answer));
      const chunk = Buffer.alloc(16 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        if (sent >= size) return void (declared ? s.resume() : s.end('0\r\n\r\n', () => s.resume()));
        sent += chunk.length;
        const ok = declared ? s.write(chunk) : s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        if (ok) setImmediate(pump);
        else s.once('drain', pump);
      };
      pump();
    });
  }

  it.each([true, false])(
    'a 6.5 MB PATCH (content-length given: %s) is answered 413 as a SCIM Error the client reads, not a dropped connection',
    async (declared) => {
      const answer = await send(16 * 1024 * 400, declared);
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: '413',
      });
    },
  );
});
