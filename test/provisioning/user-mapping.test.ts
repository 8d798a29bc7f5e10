import { describe, expect, it } from 'vitest';
import { fromUpstream, mergeUpstream, toUpstream, toUpstreamPut, upstreamDiff } from '../../src/provisioning/user-mapping.js';
import type { UserResource } from '../../src/scim/user.js';

const ada: UserResource = {
  userName: 'ada@example.com',
  displayName: 'Ada',
  active: true,
  name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' },
  emails: [{ value: 'ada@example.com', primary: true }],
  externalId: 'ext-1',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'R&D' },
};

describe('user mapping: what FullStory gets, and what the IdP reads back', () => {
  it('FullStory gets only what it stores (no enterprise extension, name without formatted), and roles only when given', () => {
    expect(toUpstream(ada)).toEqual({
      userName: 'ada@example.com',
      displayName: 'Ada',
      active: true,
      emails: [{ value: 'ada@example.com', primary: true }],
      externalId: 'ext-1',
      name: { givenName: 'Ada', familyName: 'Lovelace' },
    });
    expect(toUpstream(ada, ['admin']).roles).toEqual(['admin']);
  });

  it('a PUT clears what the IdP removed with null (a merging PUT would keep it), never userName or active', () => {
    const { displayName: _d, externalId: _e, ...after } = ada;
    const put = toUpstreamPut(after as UserResource, ada);
    expect(put).toMatchObject({ displayName: null, externalId: null, userName: 'ada@example.com', active: true });
    expect(toUpstreamPut(ada, ada)).toEqual(toUpstream(ada));
  });

  it('the diff replaces what changed and removes what went, nothing else', () => {
    const after: UserResource = { ...ada, displayName: 'Countess', active: false };
    delete after.externalId;
    expect(upstreamDiff(ada, after).sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { op: 'replace', path: 'active', value: false },
      { op: 'replace', path: 'displayName', value: 'Countess' },
      { op: 'remove', path: 'externalId' },
    ]);
    expect(upstreamDiff(ada, { ...ada, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {} })).toEqual([]);
  });

  it("the IdP reads FullStory's word on what FullStory keeps, its own on the rest, and never FullStory's roles", () => {
    const merged = mergeUpstream(ada, {
      id: 'u1',
      userName: 'ada@example.com',
      displayName: 'Changed in FullStory',
      active: false,
      name: { givenName: 'A' },
      roles: [{ value: 'admin' }],
    });
    expect(merged).toMatchObject({ displayName: 'Changed in FullStory', active: false, name: { givenName: 'A', familyName: 'Lovelace' }, externalId: 'ext-1' });
    expect(merged).not.toHaveProperty('roles');
  });

  it('a teammate met in FullStory is indexed as the IdP would have written it', () => {
    expect(fromUpstream({ id: 'u9', userName: 'b@x.com', active: false, emails: [{ value: 'b@x.com' }], roles: [{ value: 'admin' }] })).toEqual({
      userName: 'b@x.com',
      active: false,
      emails: [{ value: 'b@x.com' }],
    });
  });
});
