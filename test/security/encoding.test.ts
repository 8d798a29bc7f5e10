import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDP_TOKEN, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';
import { expectScimError, snapshot } from '../helpers/scim-assert.js';

describe('bytes are never silently changed', () => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge();
  });
  afterAll(async () => t?.close());

  const post = async (payload: Buffer, contentType: string) => {
    const res = await t.bridge.app.inject({ method: 'POST', url: U, headers: { authorization: `Bearer ${IDP_TOKEN}`, 'content-type': contentType }, payload });
    return { status: res.statusCode, body: JSON.parse(res.body), headers: res.headers as Record<string, string> };
  };
  const json = (userName: string) => `{"schemas":["${USER_SCHEMA}"],"userName":"${userName}"}`;

  it.each([
    ['a lone continuation byte', Buffer.concat([Buffer.from(json('bad-').slice(0, -2)), Buffer.from([0x80]), Buffer.from('@x.com"}')])],
    ['an overlong encoding of "/"', Buffer.concat([Buffer.from(json('o').slice(0, -2)), Buffer.from([0xc0, 0xaf]), Buffer.from('@x.com"}')])],
    ['a truncated sequence', Buffer.concat([Buffer.from(json('t').slice(0, -2)), Buffer.from([0xe2, 0x82]), Buffer.from('@x.com"}')])],
    ['an encoded surrogate', Buffer.concat([Buffer.from(json('s').slice(0, -2)), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('@x.com"}')])],
  ])('a body with %s (not UTF-8) is 400 invalidSyntax and stores nothing', async (_name, payload) => {
    const before = await snapshot(t);
    expectScimError(await post(payload, 'application/scim+json'), 400, 'invalidSyntax');
    expect(await snapshot(t)).toEqual(before);
  });

  it.each(['application/json; charset=iso-8859-1', 'application/scim+json;charset=windows-1252', 'application/json; charset="utf-16"'])(
    'a body declared as %s is refused 415, never read as UTF-8',
    async (contentType) => {
      const before = await snapshot(t);
      expectScimError(await post(Buffer.from(json('jos\u00e9@latin.example'), 'latin1'), contentType), 415);
      expect(await snapshot(t)).toEqual(before);
    },
  );

  it.each(['application/scim+json', 'application/json; charset=utf-8', 'application/scim+json; charset=UTF-8', 'application/json;charset="utf8"'])(
    'a UTF-8 body as %s keeps every character',
    async (contentType) => {
      const userName = `ren\u00e9-${Buffer.from(contentType).toString('hex').slice(-12)}-\u4e2d@x.com`;
      const res = await post(Buffer.from(json(userName), 'utf8'), contentType);
      expect([res.status, res.body.userName]).toEqual([201, userName]);
      expect([...t.sandbox.state.users.values()].some((u) => u.userName === userName)).toBe(true);
    },
  );
});
