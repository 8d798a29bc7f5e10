import { randomUUID } from 'node:crypto';
import { PLAN_ROLES, planDefaultRole, type Role } from '../config/roles.js';
import type { SandboxProfile } from './profile.js';
import { parseRoles, renderRoles, roleResolver, ROLE_GROUP_NAMES, showsForeign } from './roles.js';
import { SbError, type SbGroup, type SbUser } from './types.js';

export { SbError, type SbGroup, type SbUser } from './types.js';

type Body = Record<string, unknown>;

const isObj = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** FullStory's state, in memory: users (by id and by lower-cased userName) and groups. */
export class SandboxState {
  readonly users = new Map<string, SbUser>();
  private readonly byUserName = new Map<string, string>();
  readonly groups = new Map<string, SbGroup>();

  constructor(private readonly profile: () => SandboxProfile) {
    this.ensureRoleGroups();
  }

  /** #24 `preexisting`: FullStory made a group per role of the plan, under ids of its own. */
  ensureRoleGroups(): void {
    const p = this.profile();
    if (p.roleGroups !== 'preexisting' || p.groups === 'none') return;
    const have = new Set([...this.groups.values()].map((g) => g.displayName.toLowerCase()));
    const now = new Date().toISOString();
    for (const role of PLAN_ROLES[p.plan]) {
      const displayName = ROLE_GROUP_NAMES[role];
      if (have.has(displayName.toLowerCase())) continue;
      const id = randomUUID();
      this.groups.set(id, { id, displayName, members: [], created: now, lastModified: now });
    }
  }

  /** The role FullStory really gives the user (roles.ts says how each switch decides it). */
  roleOf(user: SbUser): string {
    return roleResolver(this.profile(), this.groups.values())(user);
  }

  /** Every user's role, with the groups read once. */
  allRoles(): Map<SbUser, string> {
    const roleOf = roleResolver(this.profile(), this.groups.values());
    return new Map([...this.users.values()].map((u) => [u, roleOf(u)]));
  }

  /** How many users hold each role, with nothing built per user (a benchmark polls it at 100,000 users). */
  roleCounts(): Record<string, number> {
    const roleOf = roleResolver(this.profile(), this.groups.values());
    const counts: Record<string, number> = {};
    for (const u of this.users.values()) {
      const role = roleOf(u);
      counts[role] = (counts[role] ?? 0) + 1;
    }
    return counts;
  }

  /** #10 `sso`: the role SSO gives the user at a sign-in (SAML's role attribute); tests stand in for the IdP. */
  signIn(userName: string, role: Role): void {
    const user = this.findUsers([{ attr: 'username', value: userName }])[0];
    if (!user) throw new SbError(404, `User ${userName} not found`);
    user.role = role;
  }

  render(user: SbUser, location: string): Body {
    const p = this.profile();
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: user.id,
      userName: user.userName,
      ...(user.externalId !== undefined ? { externalId: user.externalId } : {}),
      ...(user.name ? { name: user.name } : {}),
      ...(user.displayName !== undefined ? { displayName: user.displayName } : {}),
      ...(user.emails ? { emails: user.emails } : {}),
      active: user.active,
      ...(p.roleDelivery === 'roles-attribute' ? { roles: renderRoles(user, p.roleForm) } : {}),
      meta: { resourceType: 'User', created: user.created, lastModified: user.lastModified, location: `${location}/Users/${user.id}` },
    };
  }

  renderGroup(group: SbGroup, location: string): Body {
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      id: group.id,
      displayName: group.displayName,
      members: group.members.map((value) => ({ value })),
      meta: { resourceType: 'Group', created: group.created, lastModified: group.lastModified, location: `${location}/Groups/${group.id}` },
    };
  }

  private seatsUsed(except?: string): number {
    let n = 0;
    for (const [u, role] of this.allRoles()) if (u.id !== except && u.active && role !== 'guest') n++;
    return n;
  }

  private checkSeat(user: SbUser): void {
    const cap = this.profile().seatCap;
    if (cap !== null && user.active && this.roleOf(user) !== 'guest' && this.seatsUsed(user.id) >= cap) {
      throw new SbError(403, `Seat limit of ${cap} reached: deactivate a user or make this one a Guest`);
    }
  }

  /** Applies the stored attributes of a body (#5: others are ignored, not rejected). */
  private assign(user: SbUser, body: Body, replace: boolean): void {
    const p = this.profile();
    if ('userName' in body || replace) {
      if (typeof body.userName !== 'string' || body.userName === '') throw new SbError(400, 'userName is required', 'invalidValue');
      const other = this.byUserName.get(body.userName.toLowerCase());
      if (other && other !== user.id) throw new SbError(409, 'User already exists', 'uniqueness');
      // The userName index changes only once the whole write is accepted (createUser, commit).
      user.userName = body.userName;
    }
    if ('active' in body) {
      if (typeof body.active !== 'boolean') throw new SbError(400, '"active" must be a boolean', 'invalidValue');
      user.active = body.active;
    }
    const str = (k: string) => {
      const v = body[k];
      if (v !== undefined && v !== null && typeof v !== 'string') throw new SbError(400, `"${k}" must be a string`, 'invalidValue');
      return v ?? undefined;
    };
    if ('displayName' in body || replace) {
      const v = str('displayName');
      if (v === undefined) delete user.displayName;
      else user.displayName = v;
    }
    if (p.storesExternalId && ('externalId' in body || replace)) {
      const v = str('externalId');
      if (v === undefined) delete user.externalId;
      else user.externalId = v;
    }
    if ('name' in body || replace) {
      const n = body.name;
      if (n === undefined || n === null) delete user.name;
      else if (!isObj(n)) throw new SbError(400, '"name" must be an object', 'invalidValue');
      else {
        const name: SbUser['name'] = {};
        if (typeof n.givenName === 'string') name.givenName = n.givenName;
        if (typeof n.familyName === 'string') name.familyName = n.familyName;
        user.name = name;
      }
    }
    if ('emails' in body || replace) {
      const e = body.emails;
      if (e === undefined || e === null) delete user.emails;
      else if (!Array.isArray(e) || !e.every((x) => isObj(x) && typeof x.value === 'string')) {
        throw new SbError(400, '"emails" must be an array of {value}', 'invalidValue');
      } else {
        user.emails = (e as Body[]).map((x) => ({
          value: x.value as string,
          ...(typeof x.type === 'string' ? { type: x.type } : {}),
          ...(typeof x.primary === 'boolean' ? { primary: x.primary } : {}),
        }));
      }
    }
    if (p.roleDelivery === 'roles-attribute' && user.foreignRole !== undefined && showsForeign(body.roles, user.foreignRole)) {
      // Its own role beyond the five, sent back as shown: kept.
    } else if (p.roleDelivery === 'roles-attribute') {
      const role = parseRoles(body.roles, p);
      if (role) {
        user.role = role;
        delete user.foreignRole;
      } else if (replace && p.putUsers === 'replace' && user.foreignRole === undefined) user.role = planDefaultRole(p.plan);
    } else if (p.rolesWhereGroups === 'refuse' && Array.isArray(body.roles) && body.roles.length > 0) {
      throw new SbError(400, 'Roles are assigned through groups; "roles" is not accepted on users', 'invalidValue');
    }
  }

  createUser(body: Body): SbUser {
    const now = new Date().toISOString();
    const user: SbUser = { id: randomUUID(), userName: '', active: true, role: planDefaultRole(this.profile().plan), created: now, lastModified: now };
    if (typeof body.userName !== 'string' || body.userName === '') throw new SbError(400, 'userName is required', 'invalidValue');
    if (this.byUserName.has(body.userName.toLowerCase())) throw new SbError(409, 'User already exists', 'uniqueness');
    this.assign(user, body, true);
    this.checkSeat(user);
    this.users.set(user.id, user);
    this.byUserName.set(user.userName.toLowerCase(), user.id);
    return user;
  }

  replaceUser(id: string, body: Body): SbUser {
    const current = this.mustGet(id);
    const next: SbUser = structuredClone(current);
    // #23: absent attributes other than `active` are kept, or (a whole replace) reset.
    this.assign(next, body, this.profile().putUsers === 'replace');
    next.lastModified = new Date().toISOString();
    if (!current.active || this.roleOf(current) === 'guest') this.checkSeat(next);
    this.commit(current, next);
    return next;
  }

  /** RFC 7644 PATCH on stored attributes, lowercase ops only, simple paths only. */
  patchUser(id: string, ops: unknown): SbUser {
    const p = this.profile();
    const current = this.mustGet(id);
    if (!Array.isArray(ops) || ops.length === 0) throw new SbError(400, 'Operations must be a non-empty array', 'invalidSyntax');
    const doc = this.render(current, '') as Body;
    for (const op of ops) {
      if (!isObj(op) || !['add', 'replace', 'remove'].includes(op.op as string)) {
        throw new SbError(400, `Unsupported op ${JSON.stringify(isObj(op) ? op.op : op)}`, 'invalidSyntax');
      }
      const path = op.path;
      if (path === undefined) {
        if (op.op === 'remove' || !isObj(op.value)) throw new SbError(400, 'A pathless op needs an object value', 'invalidValue');
        Object.assign(doc, op.value);
        continue;
      }
      if (typeof path !== 'string' || !/^[A-Za-z]+(\.[A-Za-z]+)?$/.test(path))
        throw new SbError(400, `Unsupported path ${JSON.stringify(path)}`, 'invalidPath');
      const [attr, sub] = path.split('.') as [string, string | undefined];
      if (sub) {
        const parent = isObj(doc[attr]) ? { ...(doc[attr] as Body) } : {};
        if (op.op === 'remove') delete parent[sub];
        else parent[sub] = op.value;
        doc[attr] = parent;
      } else if (op.op === 'remove') delete doc[attr];
      else if (op.op === 'add' && Array.isArray(doc[attr]) && Array.isArray(op.value)) doc[attr] = [...(doc[attr] as unknown[]), ...op.value];
      else doc[attr] = op.value;
    }
    const next: SbUser = structuredClone(current);
    // The whole document is known here; its `roles` only in the roles-attribute world.
    if (p.roleDelivery !== 'roles-attribute') delete doc.roles;
    this.assign(next, doc, true);
    next.lastModified = new Date().toISOString();
    if (!current.active || this.roleOf(current) === 'guest') this.checkSeat(next);
    this.commit(current, next);
    return next;
  }

  deleteUser(id: string): void {
    const user = this.mustGet(id);
    this.users.delete(id);
    this.byUserName.delete(user.userName.toLowerCase());
    for (const g of this.groups.values()) g.members = g.members.filter((m) => m !== id);
  }

  mustGet(id: string): SbUser {
    const user = this.users.get(id);
    if (!user) throw new SbError(404, `User ${id} not found`);
    return user;
  }

  private commit(current: SbUser, next: SbUser): void {
    this.byUserName.delete(current.userName.toLowerCase());
    this.byUserName.set(next.userName.toLowerCase(), next.id);
    this.users.set(next.id, next);
  }

  findUsers(terms: { attr: string; value: string }[]): SbUser[] {
    if (terms.length === 1 && terms[0]!.attr === 'username') {
      const id = this.byUserName.get(terms[0]!.value.toLowerCase());
      const u = id ? this.users.get(id) : undefined;
      return u ? [u] : [];
    }
    return [...this.users.values()].filter((u) =>
      terms.every(({ attr, value }) => {
        if (attr === 'username') return u.userName.toLowerCase() === value.toLowerCase();
        if (attr === 'externalid') return u.externalId === value;
        if (attr === 'emails.value') return (u.emails ?? []).some((e) => e.value.toLowerCase() === value.toLowerCase());
        return false;
      }),
    );
  }

  // Groups: GET, POST, PUT only (#12).
  private groupMembers(body: Body): string[] {
    const members = body.members ?? [];
    if (!Array.isArray(members)) throw new SbError(400, '"members" must be an array', 'invalidValue');
    const ids = members.map((m) => (isObj(m) ? m.value : undefined));
    for (const id of ids) {
      if (typeof id !== 'string' || !this.users.has(id)) throw new SbError(400, `Member ${JSON.stringify(id)} is not a user`, 'invalidValue');
    }
    return [...new Set(ids as string[])];
  }

  createGroup(body: Body): SbGroup {
    if (typeof body.displayName !== 'string' || body.displayName === '') throw new SbError(400, 'displayName is required', 'invalidValue');
    const lc = body.displayName.toLowerCase();
    if ([...this.groups.values()].some((g) => g.displayName.toLowerCase() === lc)) throw new SbError(409, 'Group already exists', 'uniqueness');
    const now = new Date().toISOString();
    const group: SbGroup = { id: randomUUID(), displayName: body.displayName, members: this.groupMembers(body), created: now, lastModified: now };
    this.groups.set(group.id, group);
    return group;
  }

  replaceGroup(id: string, body: Body): SbGroup {
    const group = this.groups.get(id);
    if (!group) throw new SbError(404, `Group ${id} not found`);
    if (typeof body.displayName !== 'string' || body.displayName === '') throw new SbError(400, 'displayName is required', 'invalidValue');
    const members = this.groupMembers(body);
    const next = { ...group, displayName: body.displayName, members, lastModified: new Date().toISOString() };
    this.groups.set(id, next);
    return next;
  }
}
