import { describe, expect, it } from 'vitest';
import { contradiction, decideDelivery, RoleChannel, type RoleEvidence } from '../../../src/fullstory/roles/channel.js';
import { decodeRoles, encodeRoles, ROLE_FORMS } from '../../../src/fullstory/roles/wire.js';
import { ROLES } from '../../../src/config/roles.js';

const none: RoleEvidence = { groups: true, rolesShown: 0, rolesAbsent: 0, roleGroups: [], dropped: false };

describe('role-wire: roles in any form FullStory writes them', () => {
  it('every role survives encoding and decoding in every form, and the form is recognised', () => {
    for (const form of ROLE_FORMS) for (const role of ROLES) expect(decodeRoles(encodeRoles(role, form))).toEqual({ kind: 'role', role, form });
  });

  it("absent, empty, unreadable and roles of FullStory's own are told apart; the primary entry wins", () => {
    expect(decodeRoles(undefined)).toEqual({ kind: 'absent' });
    expect(decodeRoles([])).toEqual({ kind: 'empty' });
    expect(decodeRoles([{ value: 'Umbrella Admin', primary: true }])).toEqual({ kind: 'other', name: 'Umbrella Admin' });
    expect(decodeRoles(['owner'])).toEqual({ kind: 'other', name: 'owner' });
    expect(decodeRoles([{ value: 42 }])).toEqual({ kind: 'unreadable' });
    expect(decodeRoles('admin')).toEqual({ kind: 'unreadable' });
    expect(decodeRoles([{ value: 'Guest' }, { value: 'Admin', primary: true }])).toMatchObject({ role: 'admin' });
  });
});

describe('decideDelivery: the strongest evidence wins', () => {
  it('no /Groups leaves only roles, whatever else was seen', () => {
    expect(decideDelivery('auto', { ...none, groups: false, dropped: true }).delivery).toBe('roles-attribute');
  });
  it('a dropped write outweighs users shown with roles', () => {
    expect(decideDelivery('auto', { ...none, rolesShown: 3, dropped: true }).delivery).toBe('role-groups');
  });
  it('users shown with roles outweigh role groups that happen to exist', () => {
    expect(decideDelivery('auto', { ...none, rolesShown: 1, roleGroups: ['admin'] }).delivery).toBe('roles-attribute');
  });
  it('role groups, or users without roles, point to role groups', () => {
    expect(decideDelivery('auto', { ...none, roleGroups: ['admin'] }).delivery).toBe('role-groups');
    expect(decideDelivery('auto', { ...none, rolesAbsent: 2 }).delivery).toBe('role-groups');
  });
  it('auto never chooses sso or groups passthrough, whatever it sees: nothing a SCIM read shows tells them apart', () => {
    const seen = [false, true].flatMap((groups) =>
      [0, 2].flatMap((rolesShown) =>
        [0, 2].flatMap((rolesAbsent) =>
          [[], ['admin' as const]].flatMap((roleGroups) => [false, true].map((dropped) => ({ groups, rolesShown, rolesAbsent, roleGroups, dropped }))),
        ),
      ),
    );
    const chosen = new Set(seen.map((e) => decideDelivery('auto', e).delivery));
    expect([...chosen].sort()).toEqual(['role-groups', 'roles-attribute', undefined]);
    for (const forced of ['sso', 'groups-passthrough'] as const) {
      for (const e of seen) {
        expect(decideDelivery(forced, e)).toMatchObject({ delivery: forced, forced: true });
        expect(contradiction(forced, e)).toBeUndefined();
      }
    }
  });
  it('nothing seen is undecided, and says so', () => {
    expect(decideDelivery('auto', none)).toMatchObject({ delivery: undefined, why: expect.stringMatching(/no evidence yet/) });
  });
  it('a forced setting wins, and a contradiction is a warning naming the setting', () => {
    expect(decideDelivery('roles-attribute', { ...none, rolesAbsent: 5 })).toMatchObject({ delivery: 'roles-attribute', forced: true });
    expect(contradiction('roles-attribute', { ...none, rolesAbsent: 5 })).toMatch(/Set roles.delivery to "role-groups"/);
    expect(contradiction('role-groups', { ...none, rolesShown: 1 })).toMatch(/Set roles.delivery to "roles-attribute"/);
    expect(contradiction('auto', { ...none, rolesAbsent: 5 })).toBeUndefined();
  });
});

describe('RoleChannel: re-decides as evidence arrives', () => {
  it('a user seen decides; a dropped write re-decides; each change is reported once', () => {
    const changes: string[] = [];
    const ch = new RoleChannel('auto', (c) => changes.push(`${c.delivery}`));
    ch.learn(none);
    expect(ch.delivery).toBeUndefined();
    expect(ch.bodyRoles('admin')).toBeUndefined();
    ch.observeUser({ id: '1', userName: 'a', roles: [{ value: 'Admin', primary: true }] });
    expect(ch.delivery).toBe('roles-attribute');
    expect(ch.bodyRoles('explorer')).toEqual([{ value: 'Explorer', primary: true }]);
    ch.observeUser({ id: '2', userName: 'b', roles: [{ value: 'Guest', primary: true }] });
    ch.observeDropped();
    expect(ch.delivery).toBe('role-groups');
    expect(ch.bodyRoles('admin')).toBeUndefined();
    expect(changes).toEqual(['roles-attribute', 'role-groups']);
  });

  it('a guessed form FullStory refuses is not tried again; a seen form is never given up', () => {
    const ch = new RoleChannel('roles-attribute');
    expect(ch.form).toBe('value-lower');
    expect(ch.bodyRoles('admin')).toBeUndefined(); // a guess never rides on an IdP's write
    expect(ch.refuseForm('value-lower')).toBe(true);
    expect(ch.form).toBe('value-capitalised');
    ch.observeUser({ id: '1', userName: 'a', roles: ['guest'] });
    expect(ch.form).toBe('strings');
    expect(ch.refuseForm('strings')).toBe(false);
  });
});
