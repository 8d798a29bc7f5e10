import { describe, expect, it } from 'vitest';
import { parsePatchBody } from '../../src/scim/patch.js';
import { applyUserPatch } from '../../src/scim/user-patch.js';
import type { UserResource } from '../../src/scim/user.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const deepFreeze = <T>(v: T): T => {
  if (v && typeof v === 'object') {
    Object.freeze(v);
    Object.values(v).forEach(deepFreeze);
  }
  return v;
};

/** A user as the row cache hands it out: frozen, shared by every reader. */
const stored = (): UserResource =>
  deepFreeze({
    userName: 'ann@example.com',
    active: true,
    name: { givenName: 'Ann', familyName: 'Lee' },
    emails: [{ type: 'work', value: 'ann@example.com', primary: true }],
    [ENTERPRISE]: { department: 'Eng', manager: { value: 'm1' } },
  } as unknown as UserResource);

describe('applyUserPatch', () => {
  it('never changes the user it starts from (the row cache shares it, frozen), however deep the operations reach', () => {
    const user = stored();
    const before = JSON.parse(JSON.stringify(user));
    const ops = parsePatchBody({
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'ann.lee@example.com' },
        { op: 'add', path: 'name.middleName', value: 'J' },
        { op: 'remove', path: `${ENTERPRISE}:department` },
        { op: 'add', value: { [`${ENTERPRISE}:manager`]: 'm2' } },
      ],
    });
    const after = applyUserPatch(user, ops, 'u1') as unknown as Record<string, unknown>;
    expect(user).toEqual(before);
    expect(after).toMatchObject({
      active: false,
      emails: [{ type: 'work', value: 'ann.lee@example.com', primary: true }],
      name: { givenName: 'Ann', familyName: 'Lee', middleName: 'J' },
      [ENTERPRISE]: { manager: { value: 'm2' } },
    });
    expect(after).not.toHaveProperty('meta');
  });

  it('a PATCH refused after its first operations were applied leaves the user it started from as it was', () => {
    // Not frozen: a copy that was not one would be changed here without an error of its own.
    const user = JSON.parse(JSON.stringify(stored())) as UserResource;
    const before = JSON.parse(JSON.stringify(user));
    const ops = parsePatchBody({
      Operations: [
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'bea@example.com' },
        { op: 'replace', path: 'name.givenName', value: 'Bea' },
        { op: 'replace', path: 'userName', value: 'x'.repeat(5000) },
      ],
    });
    expect(() => applyUserPatch(user, ops, 'u1')).toThrow(/longer than/);
    expect(user).toEqual(before);
  });
});
