import { describe, expect, it } from 'vitest';
import { ScimError } from '../../src/scim/errors.js';
import { groupChanges, normaliseGroup } from '../../src/scim/group.js';
import { parsePatchBody } from '../../src/scim/patch.js';
import { normaliseUser } from '../../src/scim/user.js';
import { applyUserPatch } from '../../src/scim/user-patch.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimTypeOf = (run: () => unknown) => {
  try {
    run();
  } catch (err) {
    return err instanceof ScimError ? [err.status, err.scimType] : err;
  }
  return 'accepted';
};

describe("Okta's and Entra's users, normalised", () => {
  it("Okta's create: the password and groups it sends are not kept", () => {
    const u = normaliseUser({
      schemas: [CORE],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      password: '1mz050nq',
      groups: [],
      active: true,
    });
    expect(u).toEqual({ userName: 'test.user@okta.local', name: { givenName: 'Test', familyName: 'User' }, active: true });
  });

  it('Entra\'s create: "False" as a boolean, nulls dropped, the manager as a plain string made an object', () => {
    const u = normaliseUser({
      schemas: [CORE, ENTERPRISE],
      userName: 'a@b.c',
      active: 'False',
      roles: [],
      addresses: null,
      manager: null,
      [ENTERPRISE]: { manager: '123', department: 'D' },
    });
    expect(u).toEqual({ userName: 'a@b.c', active: false, roles: [], [ENTERPRISE]: { manager: { value: '123' }, department: 'D' } });
  });

  it('a read-only attribute or a missing userName is refused before anything is applied', () => {
    expect(scimTypeOf(() => normaliseUser({ schemas: [CORE], active: true }))).toEqual([400, 'invalidValue']);
  });
});

describe("Entra's PATCH forms, applied", () => {
  it('capitalised ops, a "False" string, dotted keys in a pathless value, an extension attribute by URN, a filtered email path', () => {
    const ops = parsePatchBody({
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Add', value: { 'name.givenName': 'Ann', [`${ENTERPRISE}:manager`]: 'm2' } },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'n@b.c' },
      ],
    });
    expect(ops.map((o) => o.op)).toEqual(['replace', 'add', 'replace']);
    const after = applyUserPatch({ userName: 'a@b.c', active: true, emails: [{ type: 'work', value: 'a@b.c' }] }, ops, 'u1');
    expect(after).toEqual({
      userName: 'a@b.c',
      active: false,
      emails: [{ type: 'work', value: 'n@b.c' }],
      name: { givenName: 'Ann' },
      [ENTERPRISE]: { manager: { value: 'm2' } },
    });
  });

  it('what no dialect means is refused with the RFC 7644 scimType', () => {
    expect(scimTypeOf(() => parsePatchBody({ Operations: [] }))).toEqual([400, 'invalidSyntax']);
    expect(scimTypeOf(() => parsePatchBody({ Operations: [{ op: 'move', path: 'active', value: true }] }))).toEqual([400, 'invalidSyntax']);
    expect(scimTypeOf(() => parsePatchBody({ Operations: [{ op: 'remove' }] }))).toEqual([400, 'noTarget']);
    expect(scimTypeOf(() => parsePatchBody({ Operations: Array.from({ length: 1001 }, () => ({ op: 'remove', path: 'title' })) }))).toEqual([400, 'tooMany']);
  });
});

describe('groups, normalised and patched', () => {
  it('a group keeps its member ids and the display each was given', () => {
    expect(
      normaliseGroup({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G', members: [{ value: 'u1', display: 'A' }, { value: 'u2' }] }),
    ).toEqual({
      displayName: 'G',
      externalId: null,
      members: ['u1', 'u2'],
      displays: new Map([['u1', 'A']]),
      extra: {},
    });
  });

  it('nulls mean not set (Entra): a null member, a null display or $ref, a null externalId are left out, not refused', () => {
    const g = normaliseGroup({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'G',
      externalId: null,
      members: [null, { value: 'u1', display: null, $ref: null }, { value: 'u2', display: 'B' }],
    });
    expect(g).toMatchObject({ displayName: 'G', externalId: null, members: ['u1', 'u2'] });
    expect([...g.displays]).toEqual([['u2', 'B']]);
    expect(() => normaliseGroup({ displayName: 'G', members: [{ value: null }] })).toThrow(/needs a "value"/);
  });

  it("Okta's add and filtered remove, and Entra's pathless rename, become member and name changes", () => {
    const ops = parsePatchBody({
      Operations: [
        { op: 'add', path: 'members', value: [{ value: 'u2' }] },
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'replace', path: 'displayName', value: 'H' },
      ],
    });
    expect(groupChanges(ops, 'g1')).toEqual([
      { kind: 'add', ids: ['u2'], displays: new Map() },
      { kind: 'remove', ids: ['u1'] },
      { kind: 'displayName', value: 'H' },
    ]);
    expect(groupChanges(parsePatchBody({ Operations: [{ op: 'Replace', value: { id: 'g1', displayName: 'X' } }] }), 'g1')).toEqual([
      { kind: 'displayName', value: 'X' },
    ]);
  });
});
