import { ROLES, type Role } from '../../config/roles.js';

/**
 * How FullStory writes a role in a user's `roles` (spec #21). The spec allows three
 * forms and a FullStory understands its own only, so the bridge reads whichever it
 * meets and writes back the one it has seen.
 */
export type RoleForm = 'value-lower' | 'value-capitalised' | 'strings';

export const ROLE_FORMS: readonly RoleForm[] = ['value-lower', 'value-capitalised', 'strings'];

/** FullStory's display name of a role: the role groups' names and the capitalised form. */
export const ROLE_NAME: Record<Role, string> = { admin: 'Admin', architect: 'Architect', standard: 'Standard', explorer: 'Explorer', guest: 'Guest' };

/** A role as `roles` carries it in `form`. */
export function encodeRoles(role: Role, form: RoleForm): unknown[] {
  if (form === 'strings') return [role];
  if (form === 'value-capitalised') return [{ value: ROLE_NAME[role], primary: true }];
  return [{ value: role }];
}

const asRole = (v: unknown): Role | undefined => (typeof v === 'string' ? ROLES.find((r) => r === v.toLowerCase()) : undefined);

function formOf(entry: unknown): RoleForm | undefined {
  if (typeof entry === 'string') return 'strings';
  const v = typeof entry === 'object' && entry !== null ? (entry as { value?: unknown }).value : undefined;
  if (typeof v !== 'string') return undefined;
  return v === v.toLowerCase() ? 'value-lower' : 'value-capitalised';
}

export type DecodedRoles =
  { kind: 'absent' } | { kind: 'empty' } | { kind: 'role'; role: Role; form: RoleForm } | { kind: 'other'; name: string } | { kind: 'unreadable' };

/**
 * What a user's `roles` says: absent (FullStory shows no roles at all), empty, or a
 * role and the form it was written in, a role outside the five (`other`). The primary entry wins where several are given.
 */
export function decodeRoles(value: unknown): DecodedRoles {
  if (value === undefined || value === null) return { kind: 'absent' };
  if (!Array.isArray(value)) return { kind: 'unreadable' };
  if (value.length === 0) return { kind: 'empty' };
  const primary = value.find((e) => typeof e === 'object' && e !== null && (e as { primary?: unknown }).primary === true) ?? value[0];
  const text = typeof primary === 'string' ? primary : (primary as { value?: unknown } | null)?.value;
  const role = asRole(text);
  const form = formOf(primary);
  if (role && form) return { kind: 'role', role, form };
  // A role of FullStory's own beyond the five (Umbrella Admin): shown, never managed.
  return typeof text === 'string' && text.trim() !== '' ? { kind: 'other', name: text.slice(0, 100) } : { kind: 'unreadable' };
}
