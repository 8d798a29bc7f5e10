import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTERPRISE, G, GROUP_SCHEMA, databases, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';

const dbs = await databases();
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

interface Seed {
  userName: string;
  displayName?: string;
  title?: string;
  active: boolean;
  familyName?: string;
  externalId?: string;
  emails: { type: string; value: string }[];
  department?: string;
}

const PEOPLE: Seed[] = [
  {
    userName: 'ada@example.com',
    displayName: 'Ada Lovelace',
    title: 'Engineer',
    active: true,
    familyName: 'Lovelace',
    externalId: 'EXT-ada',
    emails: [
      { type: 'work', value: 'ada@example.com' },
      { type: 'home', value: 'ada@home.org' },
    ],
    department: 'R&D',
  },
  { userName: 'bob@example.org', displayName: 'Bob Byron', active: false, familyName: 'Byron', emails: [{ type: 'work', value: 'bob@example.org' }] },
  {
    userName: 'cy@example.com',
    title: 'Director',
    active: true,
    familyName: 'Cyr',
    externalId: 'ext-cy',
    emails: [{ type: 'home', value: 'CY@Example.org' }],
    department: 'Sales',
  },
  { userName: 'dee@example.net', displayName: 'Dee', active: true, emails: [] },
];

const body = (p: Seed) => ({
  schemas: [USER_SCHEMA, ENTERPRISE],
  userName: p.userName,
  active: p.active,
  ...(p.displayName ? { displayName: p.displayName } : {}),
  ...(p.title ? { title: p.title } : {}),
  ...(p.familyName ? { name: { familyName: p.familyName } } : {}),
  ...(p.externalId ? { externalId: p.externalId } : {}),
  ...(p.emails.length ? { emails: p.emails } : {}),
  ...(p.department ? { [ENTERPRISE]: { department: p.department } } : {}),
});

describe.each(dbs)('the RFC 7644 filter grammar, search and sort on %s', (db) => {
  let t: TestBridge;
  const names = async (filter: string, extra = '') => {
    const res = await t.req('GET', `${U}?filter=${encodeURIComponent(filter)}&count=100${extra}`);
    expect(res.status, `${filter}: ${JSON.stringify(res.body)}`).toBe(200);
    expect(res.body.totalResults).toBe(res.body.Resources.length);
    return res.body.Resources.map((r: { userName: string }) => r.userName.split('@')[0]).sort();
  };

  beforeAll(async () => {
    t = await startTestBridge({ db });
    for (const p of PEOPLE) expect((await t.req('POST', U, body(p))).status).toBe(201);
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [] });
  });
  afterAll(async () => t?.close());

  it('or, not and grouping', async () => {
    expect(await names('userName eq "ada@example.com" or userName eq "bob@example.org"')).toEqual(['ada', 'bob']);
    expect(await names('not (active eq true)')).toEqual(['bob']);
    expect(await names('(title eq "engineer" or title eq "director") and not (userName sw "cy")')).toEqual(['ada']);
  });

  it('every comparison operator, on attributes outside the index', async () => {
    expect(await names('displayName co "love"')).toEqual(['ada']);
    expect(await names('userName sw "B"')).toEqual(['bob']);
    expect(await names('userName ew ".com"')).toEqual(['ada', 'cy']);
    expect(await names('userName ne "ada@example.com"')).toEqual(['bob', 'cy', 'dee']);
    expect(await names('name.familyName gt "C"')).toEqual(['ada', 'cy']);
    expect(await names('name.familyName ge "Cyr"')).toEqual(['ada', 'cy']);
    expect(await names('name.familyName lt "Cyr"')).toEqual(['bob']);
    expect(await names('name.familyName le "byron"')).toEqual(['bob']);
    expect(await names('title pr')).toEqual(['ada', 'cy']);
    expect(await names('not (title pr)')).toEqual(['bob', 'dee']);
  });

  it('attribute names in any case; caseExact attributes compared as written, the rest not', async () => {
    expect(await names('name.FamilyName eq "LOVELACE"')).toEqual(['ada']);
    expect(await names('emails.Value co "example.org"')).toEqual(['bob', 'cy']);
    expect(await names('USERNAME eq "ADA@EXAMPLE.COM"')).toEqual(['ada']);
    expect(await names('externalId eq "ext-ada"')).toEqual([]);
    expect(await names('externalId sw "EXT"')).toEqual(['ada']);
  });

  it('complex attributes: conditions on one element of a multi-valued attribute', async () => {
    expect(await names('emails[type eq "work" and value co "@example.com"]')).toEqual(['ada']);
    expect(await names('emails[type eq "home" and value co "@example.com"]')).toEqual([]);
    expect(await names(`${ENTERPRISE}:department eq "r&d"`)).toEqual(['ada']);
  });

  it('dates and booleans compared as such', async () => {
    const all = (await t.req('GET', `${U}?count=100`)).body.Resources as { userName: string; meta: { created: string } }[];
    const bob = all.find((u) => u.userName.startsWith('bob'))!;
    expect(await names(`meta.created ge "${bob.meta.created}" and active eq true`)).toEqual(['cy', 'dee']);
    expect(await names('active eq false')).toEqual(['bob']);
  });

  it('groups: any attribute, any operator', async () => {
    const res = await t.req('GET', `${G}?filter=${encodeURIComponent('displayName sw "eng" or displayName eq "nobody"')}`);
    expect(res.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['Engineering']);
  });

  it('sortBy and sortOrder, resources without the attribute last', async () => {
    const sorted = (await t.req('GET', `${U}?sortBy=name.familyName&sortOrder=descending&count=100`)).body.Resources.map(
      (r: { userName: string }) => r.userName.split('@')[0],
    );
    expect(sorted).toEqual(['ada', 'cy', 'bob', 'dee']);
    const asc = (await t.req('GET', `${U}?filter=${encodeURIComponent('active eq true')}&sortBy=userName`)).body.Resources.map(
      (r: { userName: string }) => r.userName.split('@')[0],
    );
    expect(asc).toEqual(['ada', 'cy', 'dee']);
    expect((await t.req('GET', `${U}?sortBy=userName&sortOrder=sideways`)).body.scimType).toBe('invalidValue');
  });

  it('POST /.search on /Users, /Groups and the root answers what the same GET would', async () => {
    const viaGet = (await t.req('GET', `${U}?filter=${encodeURIComponent('title pr')}&sortBy=userName`)).body;
    const viaPost = await t.req('POST', `${U}/.search`, { schemas: [SEARCH], filter: 'title pr', sortBy: 'userName', attributes: ['userName'] });
    expect(viaPost.status).toBe(200);
    expect(viaPost.body.Resources.map((r: { userName: string }) => r.userName)).toEqual(viaGet.Resources.map((r: { userName: string }) => r.userName));
    expect(viaPost.body.Resources[0]).not.toHaveProperty('title');
    const groups = await t.req('POST', `${G}/.search`, { schemas: [SEARCH], filter: 'displayName co "ngin"' });
    expect(groups.body.totalResults).toBe(1);
    const root = await t.req('POST', '/scim/v2/.search', { schemas: [SEARCH], filter: 'displayName co "e"', count: 2 });
    expect(root.body).toMatchObject({ totalResults: 3, itemsPerPage: 2, startIndex: 1 });
    const rest = await t.req('POST', '/scim/v2/.search', { schemas: [SEARCH], filter: 'displayName co "e"', startIndex: 3 });
    expect(rest.body.Resources.map((r: { displayName: string }) => r.displayName)).toEqual(['Engineering']);
    expect((await t.req('POST', `${U}/.search`, { filter: 'title pr' })).body.scimType).toBe('invalidSyntax');
    // At the root, an attribute only one type has matches nothing in the other, rather than 400.
    const mixed = await t.req('POST', '/scim/v2/.search', { schemas: [SEARCH], filter: 'userName sw "ada" or displayName eq "Engineering"' });
    expect([mixed.status, mixed.body.totalResults]).toEqual([200, 2]);
    expect((await t.req('POST', '/scim/v2/.search', { schemas: [SEARCH], filter: 'userName sw' })).body.scimType).toBe('invalidFilter');
  });

  it('/Users/ with a trailing slash is /Users; discovery says sorting is supported', async () => {
    expect((await t.req('GET', `${U}/?count=1`)).status).toBe(200);
    expect((await t.req('GET', '/scim/v2/ServiceProviderConfig')).body.sort).toEqual({ supported: true });
  });

  it('random filters answer what a plain reference evaluator says (a property, 150 filters)', async () => {
    const strings = ['a', 'e', 'example', '.com', '.org', 'ada', 'B', 'Lovelace', 'work', 'home'];
    const attrs = ['userName', 'displayName', 'title', 'name.familyName', 'emails.value', 'emails.type'] as const;
    const ops = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt'] as const;
    type F =
      | { t: 'cmp'; attr: (typeof attrs)[number]; op: (typeof ops)[number]; v: string }
      | { t: 'pr'; attr: (typeof attrs)[number] }
      | { t: 'active'; v: boolean }
      | { t: 'not'; f: F }
      | { t: 'and' | 'or'; a: F; b: F };
    const leaf: fc.Arbitrary<F> = fc.oneof(
      fc.record({ t: fc.constant('cmp' as const), attr: fc.constantFrom(...attrs), op: fc.constantFrom(...ops), v: fc.constantFrom(...strings) }),
      fc.record({ t: fc.constant('pr' as const), attr: fc.constantFrom(...attrs) }),
      fc.record({ t: fc.constant('active' as const), v: fc.boolean() }),
    );
    const filterArb: fc.Arbitrary<F> = fc.letrec<{ f: F }>((tie) => ({
      f: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.record({ t: fc.constant('not' as const), f: tie('f') }),
        fc.record({ t: fc.constantFrom('and' as const, 'or' as const), a: tie('f'), b: tie('f') }),
      ),
    })).f;
    const text = (f: F): string =>
      f.t === 'cmp'
        ? `${f.attr} ${f.op} "${f.v}"`
        : f.t === 'pr'
          ? `${f.attr} pr`
          : f.t === 'active'
            ? `active eq ${f.v}`
            : f.t === 'not'
              ? `not (${text(f.f)})`
              : `(${text(f.a)}) ${f.t} (${text(f.b)})`;
    // The reference: RFC 7644 on these attributes, all caseExact false.
    const valuesOf = (p: Seed, attr: (typeof attrs)[number]): string[] => {
      const v = {
        userName: [p.userName],
        displayName: p.displayName ? [p.displayName] : [],
        title: p.title ? [p.title] : [],
        'name.familyName': p.familyName ? [p.familyName] : [],
        'emails.value': p.emails.map((e) => e.value),
        'emails.type': p.emails.map((e) => e.type),
      }[attr];
      return v.map((s) => s.toLowerCase());
    };
    const cmp = (a: string, op: (typeof ops)[number], b: string) =>
      ({ eq: a === b, ne: a !== b, co: a.includes(b), sw: a.startsWith(b), ew: a.endsWith(b), gt: a > b, lt: a < b })[op];
    const holds = (p: Seed, f: F): boolean => {
      switch (f.t) {
        case 'cmp': {
          const vs = valuesOf(p, f.attr);
          // ne: no value equals (an absent attribute is not equal to anything).
          return f.op === 'ne' ? !vs.some((v) => v === f.v.toLowerCase()) : vs.some((v) => cmp(v, f.op, f.v.toLowerCase()));
        }
        case 'pr':
          return valuesOf(p, f.attr).length > 0;
        case 'active':
          return p.active === f.v;
        case 'not':
          return !holds(p, f.f);
        case 'and':
          return holds(p, f.a) && holds(p, f.b);
        case 'or':
          return holds(p, f.a) || holds(p, f.b);
      }
    };
    await fc.assert(
      fc.asyncProperty(filterArb, async (f) => {
        const expected = PEOPLE.filter((p) => holds(p, f))
          .map((p) => p.userName.split('@')[0])
          .sort();
        expect(await names(text(f))).toEqual(expected);
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});
