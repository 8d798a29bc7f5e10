import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oktaUser, databases, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';
import { expectScimError, snapshot } from '../helpers/scim-assert.js';

const dbs = await databases();

const NFC = 'jos\u00e9@x.com';
const NFD = 'jose\u0301@x.com';
const FULL_WIDTH = '\uff4a\uff4f\uff53\u00e9@x.com';

describe.each(dbs)('one person, one teammate, on %s', (db) => {
  let t: TestBridge;
  const teammates = (key: string) => [...t.sandbox.state.users.values()].filter((u) => u.userName.normalize('NFKC').toLowerCase().trim() === key);
  beforeAll(async () => {
    t = await startTestBridge({ db });
    expect((await t.req('POST', U, oktaUser(NFC))).status).toBe(201);
  });
  afterAll(async () => t?.close());

  it.each([
    ['its NFD form', NFD],
    ['its full-width form', FULL_WIDTH],
    ['the same with surrounding spaces', `  ${NFC} `],
    ['an upper-case variant', NFC.toUpperCase()],
    ['full width, decomposed and spaced at once', ` \uff4a\uff4f\uff53e\u0301@x.com\t`],
  ])('%s is the same person: 409 uniqueness, and FullStory keeps one teammate (one seat)', async (_name, userName) => {
    const before = await snapshot(t);
    expectScimError(await t.req('POST', U, oktaUser(userName)), 409, 'uniqueness');
    expect(await snapshot(t)).toEqual(before);
    expect(teammates(NFC)).toHaveLength(1);
  });

  it.each([
    ['a zero-width space', 'jo\u200bs\u00e9@x.com'],
    ['a zero-width joiner', 'jos\u200d\u00e9@x.com'],
    ['a right-to-left override', '\u202ejos\u00e9@x.com'],
    ['a bidi isolate', 'jos\u2066\u00e9@x.com'],
    ['a carriage return', 'jos\u00e9@x.com\rforged'],
    ['a line separator', 'jos\u00e9\u2028@x.com'],
    ['a byte-order mark inside', 'jos\ufeff\u00e9@x.com'],
  ])('a userName with %s is refused 400 invalidValue and changes nothing', async (_name, userName) => {
    const before = await snapshot(t);
    expectScimError(await t.req('POST', U, oktaUser(userName)), 400, 'invalidValue');
    expect(await snapshot(t)).toEqual(before);
  });

  it('a userName is stored and sent to FullStory in NFC, trimmed; a lookup by any twin finds the one user', async () => {
    const created = await t.req('POST', U, { schemas: [USER_SCHEMA], userName: ' zoe\u0301@x.com ' });
    expect([created.status, created.body.userName]).toEqual([201, 'zo\u00e9@x.com']);
    expect(teammates('zo\u00e9@x.com').map((u) => u.userName)).toEqual(['zo\u00e9@x.com']);
    for (const spelling of ['ZOE\u0301@X.COM', '\uff5a\uff4f\u00e9@x.com']) {
      const found = await t.req('GET', `${U}?filter=${encodeURIComponent(`userName eq ${JSON.stringify(spelling)}`)}`);
      expect(
        found.body.Resources.map((r: { id: string }) => r.id),
        spelling,
      ).toEqual([created.body.id]);
    }
  });

  it('emails get the same treatment: invisible characters refused, twins found by lookup', async () => {
    expectScimError(await t.req('POST', U, { schemas: [USER_SCHEMA], userName: 'mail1@x.com', emails: [{ value: 'ma\u200bil@x.com' }] }), 400, 'invalidValue');
    const created = await t.req('POST', U, { schemas: [USER_SCHEMA], userName: 'mail2@x.com', emails: [{ value: ' ren\u00e9@x.com ', type: 'work' }] });
    expect(created.body.emails[0].value).toBe('ren\u00e9@x.com');
    const found = await t.req('GET', `${U}?filter=${encodeURIComponent('emails.value eq "\uff52\uff45\uff4e\u00e9@x.com"')}`);
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
  });

  it('a PATCH renaming a user to another’s twin is 409, and a PUT too', async () => {
    const other = (await t.req('POST', U, oktaUser('other@x.com'))).body.id;
    expectScimError(await t.req('PATCH', `${U}/${other}`, { Operations: [{ op: 'replace', path: 'userName', value: FULL_WIDTH }] }), 409, 'uniqueness');
    expectScimError(await t.req('PUT', `${U}/${other}`, oktaUser(NFD)), 409, 'uniqueness');
  });
});
