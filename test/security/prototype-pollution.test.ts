import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prototypesHardened } from '../../src/lib/harden.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { G, GROUP_SCHEMA, oktaUser, PATCH_OP, databases, startTestBridge, U, USER_SCHEMA, type TestBridge } from '../helpers/bridge.js';
import { expectScimError, snapshot } from '../helpers/scim-assert.js';

const dbs = await databases();
/** Each store on the default FullStory, and SQLite on the strict one too (no PATCH upstream, roles through groups). */
const runs = [...dbs.map((db) => [db, 'default'] as const), ['sqlite', 'strict'] as const];

/** Names an attacker would hope to find on every object afterwards. */
const MARKERS = ['released', 'polluted', 'x', 'isAdmin', 'y'];
const polluted = () => MARKERS.filter((m) => (({}) as Record<string, unknown>)[m] !== undefined || Object.hasOwn(Object.prototype.toString, m));

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

describe.each(runs)('no request changes the process’s shared objects, on %s against the %s FullStory', (db, profile) => {
  let sb: RunningSandbox;
  let t: TestBridge;
  let victim: string;
  let groupId: string;
  beforeAll(async () => {
    sb = await startSandbox({ profile, patch: { rateLimit: null } });
    // A real org: an admin the IdP never managed.
    Object.assign(sb.state.createUser({ userName: 'owner@corp.example' }), { role: 'admin' });
    // The guard on, with room for one deactivation: the second is held.
    t = await startTestBridge({ db, sharedSandbox: sb, config: { guard: { maxDeprovisions: 1 }, idp: { authFailureLimit: 10_000 } } });
    victim = (await t.req('POST', U, oktaUser('victim@okta.local'))).body.id;
    groupId = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Target', members: [{ value: victim }] })).body.id;
  });
  afterAll(async () => {
    await t?.close();
    await sb?.close();
  });

  it('the test process runs hardened as the bridge does (__proto__ as an accessor throws)', () => {
    expect(prototypesHardened()).toBe(true);
  });

  const refused: [string, string, string, unknown, string][] = [
    ['a dotted __proto__ key in a PATCH value', 'PATCH', ':user', patch({ op: 'add', path: 'name', value: { '__proto__.released': true } }), 'invalidValue'],
    [
      'a dotted __proto__ key at a filtered path',
      'PATCH',
      ':user',
      patch({ op: 'add', path: 'emails[type eq "work"]', value: { '__proto__.polluted': 1 } }),
      'invalidValue',
    ],
    [
      'a __proto__ object inside addresses',
      'PATCH',
      ':user',
      '{"Operations":[{"op":"add","path":"addresses","value":[{"__proto__":{"polluted":1},"type":"work"}]}]}',
      'invalidValue',
    ],
    ['constructor.prototype as a dotted key', 'PATCH', ':user', patch({ op: 'add', path: 'name', value: { 'constructor.prototype.x': 1 } }), 'invalidValue'],
    [
      'an escaped \\u005f_proto__ key',
      'PATCH',
      ':user',
      '{"Operations":[{"op":"add","path":"name","value":{"\\u005f_proto__":{"polluted":1}}}]}',
      'invalidValue',
    ],
    ['a CONSTRUCTOR key in another case', 'PATCH', ':user', patch({ op: 'replace', value: { CONSTRUCTOR: { prototype: { x: 1 } } } }), 'invalidValue'],
    ['a pathless value with __proto__', 'PATCH', ':user', '{"Operations":[{"op":"replace","value":{"__proto__":{"isAdmin":true}}}]}', 'invalidValue'],
    ['a __proto__ path', 'PATCH', ':user', patch({ op: 'add', path: '__proto__.polluted', value: 1 }), 'invalidPath'],
    ['a constructor.prototype path', 'PATCH', ':user', patch({ op: 'add', path: 'constructor.prototype.polluted', value: 1 }), 'invalidPath'],
    ['a sub-attribute named prototype', 'PATCH', ':user', patch({ op: 'replace', path: 'name.prototype', value: 'x' }), 'invalidPath'],
    [
      'a filter naming constructor inside a path',
      'PATCH',
      ':user',
      patch({ op: 'replace', path: 'emails[constructor eq "x"].value', value: 'x' }),
      'invalidPath',
    ],
    ['an inherited name as a dotted key (toString.x)', 'PATCH', ':user', patch({ op: 'add', path: 'name', value: { 'toString.x': 1 } }), 'invalidValue'],
    ['a dotted key inside a list value', 'PATCH', ':user', patch({ op: 'add', path: 'emails', value: [{ value: 'a@b.c', 'length.y': 1 }] }), 'invalidValue'],
    ['a POST with __proto__', 'POST', U, `{"schemas":["${USER_SCHEMA}"],"userName":"p@x.com","__proto__":{"polluted":1}}`, 'invalidValue'],
    [
      'a POST with name.constructor',
      'POST',
      U,
      { schemas: [USER_SCHEMA], userName: 'c@x.com', name: { constructor: { prototype: { x: 1 } } } },
      'invalidValue',
    ],
    [
      'a PUT with prototype inside an extension',
      'PUT',
      ':user',
      { ...oktaUser('victim@okta.local'), 'urn:example:ext': { prototype: { x: 1 } } },
      'invalidValue',
    ],
    ['a group member with __proto__', 'POST', G, '{"displayName":"G1","members":[{"value":"x","__proto__":{"polluted":1}}]}', 'invalidValue'],
    ['a group PATCH value with constructor', 'PATCH', ':group', patch({ op: 'add', path: 'members', value: [{ value: 'x', constructor: 1 }] }), 'invalidValue'],
    [
      'a search body with __proto__',
      'POST',
      `${U}/.search`,
      '{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"__proto__":{"polluted":1}}',
      'invalidValue',
    ],
  ];

  it.each(refused)('%s is refused 400 and changes nothing', async (_name, method, rawUrl, body, scimType) => {
    const before = await snapshot(t);
    const url = rawUrl === ':user' ? `${U}/${victim}` : rawUrl === ':group' ? `${G}/${groupId}` : rawUrl;
    const res = await t.req(method, url, body);
    expectScimError(res, 400, scimType);
    expect(await snapshot(t)).toEqual(before);
    expect(polluted()).toEqual([]);
  });

  const reads: [string, string, string][] = [
    ['a filter on name.constructor', `${U}?filter=${encodeURIComponent('name.constructor pr')}`, 'invalidFilter'],
    ['a filter on constructor eq', `${U}?filter=${encodeURIComponent('constructor eq "x"')}`, 'invalidFilter'],
    ['a filter on __proto__ inside a value path', `${U}?filter=${encodeURIComponent('emails[__proto__ pr]')}`, 'invalidFilter'],
    ['a filter on a prototype sub-attribute after a value path', `${U}?filter=${encodeURIComponent('emails[type eq "work"].prototype pr')}`, 'invalidFilter'],
    ['a group filter on constructor', `${G}?filter=${encodeURIComponent('displayName.constructor pr')}`, 'invalidFilter'],
    ['attributes=constructor', `${U}?attributes=constructor`, 'invalidPath'],
    ['excludedAttributes=__proto__', `${U}?excludedAttributes=__proto__`, 'invalidPath'],
    ['sortBy=name.constructor', `${U}?sortBy=name.constructor`, 'invalidPath'],
    ['a query key __proto__', `${U}?__proto__=x`, 'invalidValue'],
    ['a query key constructor[prototype]', `${U}?constructor%5Bprototype%5D=x`, 'invalidValue'],
  ];

  it.each(reads)('%s is refused 400 (attribute reads are own-property reads)', async (_name, url, scimType) => {
    expectScimError(await t.req('GET', url), 400, scimType);
  });

  it('a filter value that spells constructor is data, and finds nothing', async () => {
    const res = await t.req('GET', `${U}?filter=${encodeURIComponent('userName eq "constructor"')}`);
    expect([res.status, res.body.totalResults]).toEqual([200, 0]);
  });

  it('pollution sent together with a held deactivation cannot switch the guard off: the whole PATCH is refused, then the deactivation alone is held', async () => {
    // The one deactivation the window allows is spent on someone else.
    const other = (await t.req('POST', U, oktaUser('first@okta.local'))).body.id;
    expect((await t.req('PATCH', `${U}/${other}`, patch({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    const before = await snapshot(t);
    const attack = await t.req(
      'PATCH',
      `${U}/${victim}`,
      patch({ op: 'add', path: 'name', value: { '__proto__.released': true } }, { op: 'replace', path: 'active', value: false }),
    );
    expectScimError(attack, 400, 'invalidValue');
    expect(await snapshot(t)).toEqual(before);
    expect([...sb.state.users.values()].find((u) => u.id === victim)?.active).toBe(true);
    const alone = await t.req('PATCH', `${U}/${victim}`, patch({ op: 'replace', path: 'active', value: false }));
    expect([alone.status, alone.body.detail]).toEqual([503, expect.stringMatching(/deprovisioning guard/)]);
    expect([...sb.state.users.values()].find((u) => u.id === victim)?.active).toBe(true);
    expect(polluted()).toEqual([]);
  });

  it('after every attack the process is alive: health, metrics (whose label check meets no inherited key) and a real change all answer', async () => {
    expect((await t.bridge.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await t.bridge.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    const ok = await t.req('PATCH', `${U}/${victim}`, patch({ op: 'replace', path: 'displayName', value: 'Still Here' }));
    expect([ok.status, ok.body.displayName]).toEqual([200, 'Still Here']);
  });
});
