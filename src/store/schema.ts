/**
 * Tables, typed for Kysely. Both dialects store the same shapes: booleans as 0/1
 * integers, times as ISO-8601 text (which sorts), documents as JSON text.
 */
export interface UsersTable {
  id: string;
  user_name: string;
  user_name_lc: string;
  external_id: string | null;
  active: number;
  /** The effective FullStory role the bridge wants this user to have (null: leave as is). */
  role: string | null;
  /** The user as the IdP wrote it (normalised), JSON. */
  resource: string;
  created_at: string;
  updated_at: string;
  version: number;
  deleted_at: string | null;
  /** FullStory's copy (JSON) where the last index refresh found it differing from `resource`. */
  upstream: string | null;
}

export interface UserEmailsTable {
  user_id: string;
  value_lc: string;
  type: string | null;
}

export interface GroupsTable {
  id: string;
  display_name: string;
  display_name_lc: string;
  external_id: string | null;
  /** The mapped FullStory role and its rank in the precedence (0 highest), or null. */
  role: string | null;
  role_rank: number | null;
  /** Attributes beyond displayName and externalId, JSON. */
  extra: string;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  display: string | null;
}

export interface RoleSyncTable {
  user_id: string;
  desired_role: string;
  /** Bumped on every new desired role, so a worker only clears what it applied. */
  seq: number;
  attempts: number;
  next_attempt_at: string;
  claimed_by: string | null;
  claimed_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export interface AuditTable {
  id: string;
  at: string;
  token_name: string | null;
  user_agent: string | null;
  method: string;
  operation: string;
  resource_type: string;
  resource_id: string | null;
  /** userName or group displayName (hashed when PII redaction is on). */
  subject: string | null;
  outcome: string;
  status: number;
  upstream_status: number | null;
  /** What a write changed, in words: `active true → false`, `role → admin`. */
  change: string | null;
  detail: string | null;
}

export interface RateBudgetTable {
  name: string;
  tokens: number;
  updated_ms: number;
  paused_until_ms: number;
}

export interface UserLinksTable {
  id: string;
  upstream_id: string | null;
}

export interface GuardEventsTable {
  id: string;
  at: string;
  user_id: string;
  kind: string;
}

export interface HoldsTable {
  id: string;
  at: string;
  user_id: string;
  user_name: string | null;
  /** deactivate | delete | demote | approval */
  kind: string;
  /** For a demotion or an approval, the role it would set. */
  role: string | null;
  token_name: string | null;
  reason: string;
  /** held | released | rejected | withdrawn */
  status: string;
  released_at: string | null;
  decided_at: string | null;
  decided_by: string | null;
  decision_note: string | null;
}

export interface NoticesTable {
  id: string;
  at: string;
  /** What the notice is about, once: a second replica's copy of the same event is not added. */
  key: string;
  event: string;
  /** The JSON body as sent. */
  body: string;
  attempts: number;
  next_at: string;
  claimed_until: string | null;
  sent_at: string | null;
  last_error: string | null;
}

export interface Database {
  users: UsersTable;
  user_emails: UserEmailsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  role_sync: RoleSyncTable;
  audit: AuditTable;
  /** Each user's latest successful change in the audit log, and who made it: folded when the access review asks (store/last-changes.ts). */
  audit_last_change: { resource_id: string; at: string; token_name: string | null };
  rate_budget: RateBudgetTable;
  kv: { key: string; value: string };
  user_links: UserLinksTable;
  guard_events: GuardEventsTable;
  holds: HoldsTable;
  notices: NoticesTable;
  auth_failures: { address: string; window_start_ms: number; failures: number };
}
