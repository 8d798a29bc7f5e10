import { PLAN_ROLES, ROLES, type Role } from '../config/roles.js';
import type { SandboxProfile } from './profile.js';
import { SbError, type SbGroup, type SbUser } from './types.js';

/** FullStory's display names of its roles: role groups are named so (#10), and the capitalised form (#21) writes them so. */
export const ROLE_GROUP_NAMES: Record<Role, string> = {
  admin: 'Admin',
  architect: 'Architect',
  standard: 'Standard',
  explorer: 'Explorer',
  guest: 'Guest',
};

type RoleForm = SandboxProfile['roleForm'];
type Body = Record<string, unknown>;
const isObj = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);

/** #21: a role as this FullStory writes it in `roles`; a role outside the five (Umbrella Admin) keeps its own name. */
export function renderRoles(user: SbUser, form: RoleForm): unknown[] {
  const name = user.foreignRole ?? (form === 'value-capitalised' ? ROLE_GROUP_NAMES[user.role] : user.role);
  if (form === 'strings') return [name];
  return form === 'value-capitalised' ? [{ value: name, primary: true }] : [{ value: name }];
}

/** The role in one `roles` entry, if it is written in `form`. */
function readRole(entry: unknown, form: RoleForm): string | undefined {
  if (form === 'strings') return typeof entry === 'string' && entry === entry.toLowerCase() ? entry : undefined;
  const v = isObj(entry) ? entry.value : undefined;
  if (typeof v !== 'string') return undefined;
  if (form === 'value-capitalised') return ROLES.find((r) => ROLE_GROUP_NAMES[r] === v);
  return v === v.toLowerCase() ? v : undefined;
}

/** `roles` naming this role beyond the five, in any form. */
export function showsForeign(value: unknown, name: string): boolean {
  const first: unknown = Array.isArray(value) ? value[0] : undefined;
  return (typeof first === 'string' ? first : isObj(first) ? first.value : undefined) === name;
}

/** #21, #11: only the profile's own form is understood, and only a role its plan offers. */
export function parseRoles(value: unknown, p: SandboxProfile): Role | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new SbError(400, '"roles" must be an array', 'invalidValue');
  if (value.length === 0) return undefined;
  const role = readRole(value[0], p.roleForm);
  if (role === undefined) {
    const example = renderRoles({ role: 'standard' } as SbUser, p.roleForm);
    throw new SbError(400, `"roles" must be written as ${JSON.stringify(example)}`, 'invalidValue');
  }
  if (!(PLAN_ROLES[p.plan] as readonly string[]).includes(role)) {
    throw new SbError(400, `Role ${JSON.stringify(role)} is not available on the ${p.plan} plan`, 'invalidValue');
  }
  return role as Role;
}

/** Each member's highest role among groups whose (case-insensitive) name `table` gives a role. */
function tableMembership(groups: Iterable<SbGroup>, table: ReadonlyMap<string, Role>): Map<string, Role> {
  const best = new Map<string, Role>();
  for (const g of groups) {
    const role = table.get(g.displayName.toLowerCase());
    if (!role) continue;
    for (const id of g.members) {
      const held = best.get(id);
      if (!held || ROLES.indexOf(role) < ROLES.indexOf(held)) best.set(id, role);
    }
  }
  return best;
}

/**
 * The role FullStory really gives each teammate, for a whole pass over users:
 * - #25 a group-name table, where set, decides for members of its groups;
 * - else #10: `roles` (roles-attribute), role-group membership (role-groups: none is Standard),
 *   or what SSO gave at the last sign-in (sso: SCIM never changes it);
 * - a role outside the five (Umbrella Admin) is FullStory's own and shown as it is.
 */
export function roleResolver(p: SandboxProfile, groups: Iterable<SbGroup>): (user: SbUser) => string {
  const all = [...groups];
  const table = p.groupRoles ? tableMembership(all, new Map(Object.entries(p.groupRoles).map(([n, r]) => [n.toLowerCase(), r]))) : undefined;
  const roleGroups = p.roleDelivery === 'role-groups' ? tableMembership(all, new Map(ROLES.map((r) => [ROLE_GROUP_NAMES[r].toLowerCase(), r]))) : undefined;
  return (user) => {
    if (user.foreignRole !== undefined) return user.foreignRole;
    const fromTable = table?.get(user.id);
    if (fromTable) return fromTable;
    return roleGroups ? (roleGroups.get(user.id) ?? 'standard') : user.role;
  };
}
