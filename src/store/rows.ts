import type { EqTerm } from '../scim/filter.js';
import type { JsonObject } from '../scim/values.js';
import type { UserResource } from '../scim/user.js';
import type { AuditTable, GroupsTable, RoleSyncTable, UsersTable } from './schema.js';
import { identityKey } from '../lib/identity-text.js';

/**
 * The store's rows as the rules see them, and how each implementation turns its table
 * rows into them and back: one mapping, so the two stores cannot drift.
 */

export interface UserRow {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  role: string | null;
  resource: UserResource;
  createdAt: string;
  updatedAt: string;
  version: number;
  /** The IdP deleted it; FullStory may still hold it, deactivated. */
  deleted: boolean;
  /** FullStory's copy, where the last index refresh found it differing from what the IdP wrote. */
  upstream: Record<string, unknown> | null;
}

export interface NewUser {
  id: string;
  resource: UserResource;
  role: string | null;
  createdAt?: string;
}

export interface GroupRow {
  id: string;
  displayName: string;
  externalId: string | null;
  role: string | null;
  roleRank: number | null;
  extra: JsonObject;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface GroupFields {
  displayName: string;
  externalId: string | null;
  role: string | null;
  roleRank: number | null;
  extra: JsonObject;
}

export interface RoleSyncItem {
  userId: string;
  desiredRole: string;
  seq: number;
  attempts: number;
  lastError: string | null;
}

export interface RoleSyncStats {
  backlog: number;
  failing: number;
  oldestPendingAt: string | null;
}

/** A deprovisioning the guard held, as `holds` lists it. */
export interface HoldRow {
  id: string;
  at: string;
  userId: string;
  userName: string | null;
  /** approval: a grant of a role GUARD_APPROVE_ROLES names, waiting for an operator. */
  kind: 'deactivate' | 'delete' | 'demote' | 'approval';
  role: string | null;
  tokenName: string | null;
  reason: string;
  /** rejected: an operator said no (it is never applied); withdrawn: the IdP no longer asks for it. */
  status: 'held' | 'released' | 'rejected' | 'withdrawn';
  releasedAt: string | null;
  /** When it was released, rejected or withdrawn, by whom (`cli:reject`, `ops:<name>`, `idp`), and the reason given. */
  decidedAt: string | null;
  decidedBy: string | null;
  decisionNote: string | null;
}

/** A role change (a demotion, or a grant waiting for approval) rather than a deprovisioning. */
export const isRoleHold = (h: Pick<HoldRow, 'kind'>): boolean => h.kind === 'demote' || h.kind === 'approval';

/** A notice waiting in the outbox for the webhook. */
export interface NoticeRow {
  id: string;
  at: string;
  key: string;
  event: string;
  body: string;
  attempts: number;
}

export interface NewNotice {
  /** One notice per key, across replicas. */
  key: string;
  event: string;
  body: string;
}

export type NewHold = Pick<HoldRow, 'userId' | 'userName' | 'kind' | 'role' | 'tokenName' | 'reason'>;

export function toHoldRow(r: import('./schema.js').HoldsTable): HoldRow {
  return {
    id: r.id,
    at: r.at,
    userId: r.user_id,
    userName: r.user_name,
    kind: r.kind as HoldRow['kind'],
    role: r.role,
    tokenName: r.token_name,
    reason: r.reason,
    status: r.status as HoldRow['status'],
    releasedAt: r.released_at,
    decidedAt: r.decided_at ?? null,
    decidedBy: r.decided_by ?? null,
    decisionNote: r.decision_note ?? null,
  };
}

export type AuditEntry = Omit<AuditTable, 'id' | 'at' | 'change'> & { at?: string; change?: string | null };

/**
 * What a batch of audit rows changes in `audit_last_change`: per resource, its latest
 * successful change that was not a read (the access review's "last changed by").
 */
export function lastChangesOf(rows: readonly { at: string; token_name: string | null; resource_id: string | null; outcome: string; method: string }[]) {
  const last = new Map<string, { at: string; token_name: string | null }>();
  for (const r of rows) {
    if (r.resource_id === null || r.outcome !== 'success' || r.method === 'GET') continue;
    const kept = last.get(r.resource_id);
    if (!kept || r.at >= kept.at) last.set(r.resource_id, { at: r.at, token_name: r.token_name });
  }
  return last;
}

/** A filter's terms, as both stores answer them (scim/filter parses them). */
export type Terms = readonly EqTerm[];

/** A lookup table without a prototype: a name from input (`constructor`) finds nothing inherited. */
const table = (entries: Record<string, string>): Record<string, string> => Object.assign(Object.create(null) as Record<string, string>, entries);

/** Filter attributes the index answers for /Users (lower-cased path -> key). */
export const USER_FILTER_VOCABULARY = table({
  id: 'id',
  username: 'userName',
  externalid: 'externalId',
  active: 'active',
  'emails.value': 'emails.value',
});

export const GROUP_FILTER_VOCABULARY = table({
  id: 'id',
  displayname: 'displayName',
  externalid: 'externalId',
  'members.value': 'members.value',
});

export function toUserRow(r: UsersTable): UserRow {
  return {
    id: r.id,
    userName: r.user_name,
    externalId: r.external_id,
    active: Number(r.active) === 1,
    role: r.role,
    resource: JSON.parse(r.resource) as UserResource,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
    deleted: r.deleted_at !== null,
    upstream: r.upstream ? (JSON.parse(r.upstream) as Record<string, unknown>) : null,
  };
}

/** The columns a user write sets. */
export type UserColumns = Pick<UsersTable, 'user_name' | 'user_name_lc' | 'external_id' | 'active' | 'resource'>;

export function userColumns(resource: UserResource): UserColumns {
  return {
    user_name: resource.userName,
    user_name_lc: identityKey(resource.userName),
    external_id: typeof resource.externalId === 'string' ? resource.externalId : null,
    active: resource.active === false ? 0 : 1,
    resource: JSON.stringify(resource),
  };
}

export interface EmailRow {
  value_lc: string;
  type: string | null;
}

/** A user's emails as the index keeps them for filters. */
export function emailsOf(resource: UserResource): EmailRow[] {
  const emails = Array.isArray(resource.emails) ? resource.emails : [];
  return emails.flatMap((e) =>
    e && typeof e === 'object' && !Array.isArray(e) && typeof e.value === 'string'
      ? [{ value_lc: identityKey(e.value), type: typeof e.type === 'string' ? e.type.toLowerCase() : null }]
      : [],
  );
}

/** Whether a write must re-index the emails: always, unless what was read says they did not change. */
export function emailsChanged(previous: UserResource | undefined, resource: UserResource): boolean {
  return !previous || JSON.stringify(emailsOf(previous)) !== JSON.stringify(emailsOf(resource));
}

export function toGroupRow(r: GroupsTable): GroupRow {
  return {
    id: r.id,
    displayName: r.display_name,
    externalId: r.external_id,
    role: r.role,
    roleRank: r.role_rank === null ? null : Number(r.role_rank),
    extra: JSON.parse(r.extra) as JsonObject,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
  };
}

export function groupColumns(fields: GroupFields) {
  return {
    display_name: fields.displayName,
    display_name_lc: fields.displayName.toLowerCase(),
    external_id: fields.externalId,
    role: fields.role,
    role_rank: fields.roleRank,
    extra: JSON.stringify(fields.extra),
  };
}

export const toRoleSyncItem = (r: RoleSyncTable): RoleSyncItem => ({
  userId: r.user_id,
  desiredRole: r.desired_role,
  seq: Number(r.seq),
  attempts: Number(r.attempts),
  lastError: r.last_error,
});

/** A filter's `active` value as the column holds it. */
export const activeValue = (v: unknown): 0 | 1 => (v === true || String(v).toLowerCase() === 'true' ? 1 : 0);

export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
