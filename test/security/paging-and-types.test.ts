import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G, GROUP_SCHEMA, oktaUser, databases, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';
import { expectScimError } from '../helpers/scim-assert.js';

const dbs = await databases();

const NUMBERS = [
  '1e20',
  '1e308',
  '-1e308',
  '1.7976931348623157e309',
  '9007199254740993',
  '-1',
  '0',
  '1.5',
  '2.9999',
  'abc',
  '0x10',
  'Infinity',
  '-Infinity',
  'NaN',
  '',
];

describe.each(dbs)('paging and filter values are bounded and typed, on %s', (db) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ db });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await t.req('POST', U, oktaUser(`page${i}@okta.local`))).body.id);
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Paged', members: ids.map((value) => ({ value })) });
  });
  afterAll(async () => t?.close());

  /** A valid ListResponse: integers where RFC 7644 §3.4.2 has them, never more than asked. */
  const expectList = (body: any, what: string) => {
    expect(body.schemas, what).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    for (const k of ['totalResults', 'startIndex', 'itemsPerPage']) expect(Number.isSafeInteger(body[k]), `${what}: ${k}=${body[k]}`).toBe(true);
    expect(body.startIndex, what).toBeGreaterThanOrEqual(1);
    expect(body.Resources.length, what).toBe(body.itemsPerPage);
  };

  it.each(['/Users', '/Groups', '/Users?filter=userName%20sw%20%22page%22', '/Groups?sortBy=displayName'])(
    'any startIndex or count on %s gives a valid ListResponse, never a 500',
    async (path) => {
      const sep = path.includes('?') ? '&' : '?';
      for (const n of NUMBERS) {
        for (const param of ['startIndex', 'count']) {
          const res = await t.req('GET', `/scim/v2${path}${sep}${param}=${encodeURIComponent(n)}`);
          expect(res.status, `${path} ${param}=${n}: ${JSON.stringify(res.body)}`).toBe(200);
          expectList(res.body, `${path} ${param}=${n}`);
        }
      }
    },
  );

  it('a SearchRequest with huge, fractional or negative numbers gives a valid ListResponse', async () => {
    for (const n of [1e20, 1e308, -1e308, 1.5, -3, 0]) {
      for (const path of [`${U}/.search`, `${G}/.search`, '/scim/v2/.search']) {
        const res = await t.req('POST', path, { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], startIndex: n, count: n });
        expect(res.status, `${path} ${n}`).toBe(200);
        expectList(res.body, `${path} ${n}`);
      }
    }
  });

  it.each([
    'meta.lastModified gt "not-a-date"',
    'meta.created lt 5',
    'meta.created eq true',
    'urn:ietf:params:scim:schemas:core:2.0:User:meta.lastModified ge "yesterday"',
  ])('a dateTime compared with a non-date (%s) is 400 invalidFilter', async (filter) => {
    expectScimError(await t.req('GET', `${U}?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
  });

  it('a dateTime compared with a date is answered as a date', async () => {
    const later = await t.req('GET', `${U}?filter=${encodeURIComponent('meta.created gt "2000-01-01T00:00:00Z"')}`);
    expect([later.status, later.body.totalResults]).toEqual([200, 3]);
    const none = await t.req('GET', `${U}?filter=${encodeURIComponent('meta.created gt "2999-01-01T00:00:00Z"')}`);
    expect([none.status, none.body.totalResults]).toEqual([200, 0]);
  });
});
