import type { BucketConfig, Priority } from '../lib/token-bucket.js';
import type { UserResource } from '../scim/user.js';
import type { AuditTable } from './schema.js';
import type {
  AuditEntry,
  GroupFields,
  GroupRow,
  HoldRow,
  NewHold,
  NewNotice,
  NewUser,
  NoticeRow,
  RoleSyncItem,
  RoleSyncStats,
  Terms,
  UserRow,
} from './rows.js';

/**
 * The narrow storage interface the rules use (store.ts opens one). Each store (sqlite/, postgres/) is one
 * whole implementation of it; a rule never knows which it has.
 *
 * Reads go through read() and see the last commit; changes go through transaction(),
 * all or nothing. Repositories come in a read side and a write side, so a read cannot
 * change anything by mistake.
 */
export interface Store {
  read<T>(fn: (r: ReadRepos) => Promise<T>): Promise<T>;
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  /**
   * Runs fn with `key` locked across replicas. fn must not use the store (it may hold a
   * connection of its own). For read-modify-write of FullStory objects that have no versions.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * FullStory's rate budget, shared by every replica of one database; undefined where one
   * process is the only replica (SQLite), which keeps its budget in memory. Not transactional:
   * each take is one atomic statement.
   */
  readonly rateBudget: SharedRateBudget | undefined;
  /** Failed token checks per address, shared by replicas (PostgreSQL); undefined: each process counts alone. */
  readonly authFailures: SharedAuthFailures | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Where replicas share their count of failed token checks (PostgreSQL). */
export interface SharedAuthFailures {
  /** Counts one failure for `address` in its current window (a new window once the last one ended). */
  record(address: string, nowMs: number, windowMs: number): Promise<{ count: number; windowStartMs: number }>;
  /** Addresses at or past `limit` in a window still running. */
  blocked(nowMs: number, windowMs: number, limit: number): Promise<{ address: string; windowStartMs: number }[]>;
}

export interface ReadRepos {
  users: UserReads;
  groups: GroupReads;
  roleSync: RoleSyncReads;
  audit: AuditReads;
  links: LinkReads;
  guard: GuardReads;
  kv: KvReads;
  notices: NoticeReads;
}

export interface Repos {
  users: UserWrites;
  groups: GroupWrites;
  roleSync: RoleSyncWrites;
  audit: AuditWrites;
  links: LinkWrites;
  guard: GuardWrites;
  kv: KvWrites;
  notices: NoticeWrites;
}

/** Small facts replicas share (when the index was last refreshed from FullStory). */
export interface KvReads {
  get(key: string): Promise<string | undefined>;
}

export interface KvWrites extends KvReads {
  set(key: string, value: string): Promise<void>;
}

/**
 * Ids the bridge made up (shadow mode) and FullStory's id for each once it holds the
 * user. A user without a link has FullStory's id as its own.
 */
export interface LinkReads {
  /** Every link; upstreamId null: FullStory does not hold the user yet. */
  all(): Promise<{ id: string; upstreamId: string | null }[]>;
}

export interface LinkWrites extends LinkReads {
  /** A bridge-made id that FullStory does not hold yet. */
  pending(id: string): Promise<void>;
  link(id: string, upstreamId: string): Promise<void>;
}

/** The deprovisioning guard's count (shared by replicas) and its held changes. */
export interface GuardReads {
  /** Deprovisionings let through since `fromIso`. */
  countSince(fromIso: string): Promise<number>;
  holds(status?: HoldRow['status']): Promise<HoldRow[]>;
  /** The change of that kind for the user, held (or released), if there is one. */
  heldFor(userId: string, kind: HoldRow['kind'], status?: HoldRow['status']): Promise<HoldRow | undefined>;
}

export interface GuardWrites extends GuardReads {
  /** Serialises guard decisions across replicas until the transaction ends. */
  lock(): Promise<void>;
  record(userId: string, kind: string): Promise<void>;
  hold(h: NewHold): Promise<HoldRow>;
  /**
   * Ends a held change as released, rejected or withdrawn (a rejected one may be withdrawn too,
   * keeping who rejected it and why); false when it was not open (another decided first).
   */
  decide(id: string, status: Exclude<HoldRow['status'], 'held'>, by: string, note?: string | null): Promise<boolean>;
}

/** The notices outbox: one row per event (by key, across replicas), sent by whichever replica claims it. */
export interface NoticeReads {
  /** Not sent yet: how many, and the oldest's time. */
  pending(): Promise<{ count: number; oldestAt: string | null }>;
}

export interface NoticeWrites extends NoticeReads {
  /** Serialises notice decisions across replicas until the transaction ends (one notice per state change). */
  lock(): Promise<void>;
  /** Adds the notice unless one with its key exists; whether it was added. */
  add(n: NewNotice): Promise<boolean>;
  /** Due notices nobody holds, claimed for `ttlMs`. */
  claim(limit: number, ttlMs: number): Promise<NoticeRow[]>;
  sent(id: string): Promise<void>;
  failed(id: string, error: string, retryAt: Date): Promise<void>;
  /** Drops notices older than `beforeIso`; the events of those never sent (the receiver stayed down). */
  expire(beforeIso: string): Promise<string[]>;
}

/** The user index: FullStory's ids, what the IdP wrote, and the effective role. */
export interface UserReads {
  get(id: string): Promise<UserRow | undefined>;
  getMany(ids: readonly string[]): Promise<UserRow[]>;
  /** The userName matched case-insensitively. */
  findByUserName(userName: string): Promise<UserRow | undefined>;
  /** Users not deleted matching every term, oldest first, and how many match in all. */
  query(terms: Terms, offset: number, limit: number): Promise<{ rows: UserRow[]; total: number }>;
  /** The role the bridge last asked for, for each user not deleted among `ids`. */
  rolesOf(ids: readonly string[]): Promise<Map<string, string | null>>;
  /** Which of `ids` are users not deleted. */
  existingIds(ids: readonly string[]): Promise<Set<string>>;
  liveIds(): Promise<string[]>;
  /** Users the IdP deleted that FullStory still holds, deactivated. */
  tombstones(): Promise<UserRow[]>;
  /** Users not deleted, in id order, after `afterId`: a whole-index read in pages that cost the same at any depth. */
  page(afterId: string | undefined, limit: number, offset?: number): Promise<UserRow[]>;
}

export interface UserWrites extends UserReads {
  /** Holds the users' rows until the transaction ends, so concurrent role computations queue. */
  lockForUpdate(ids: readonly string[]): Promise<void>;
  /** Throws UniquenessConflict where the id or the userName is taken. */
  insert(user: NewUser): Promise<void>;
  /** Indexes users met in FullStory that the bridge did not create; an existing row wins. */
  adopt(users: readonly NewUser[]): Promise<void>;
  /**
   * Writes the user; with `expectedVersion`, only if nobody wrote it since and it is not
   * deleted, else throws VersionConflict. `previous`, what was read, spares re-indexing
   * unchanged emails. Throws UniquenessConflict where the new userName is taken.
   */
  update(id: string, resource: UserResource, expectedVersion?: number, previous?: UserResource): Promise<void>;
  setRoles(changes: ReadonlyMap<string, string | null>): Promise<void>;
  /** Records FullStory's copy as a refresh saw it (null: the same as the IdP's); no version bump. */
  setUpstream(id: string, upstream: Record<string, unknown> | null): Promise<void>;
  /**
   * Forgets a user: gone from every group and from the outbox. With `tombstone` the row
   * stays, deleted (FullStory still holds the user, deactivated), so reads answer 404 and
   * the upstream copy is not adopted back.
   */
  delete(id: string, tombstone: boolean): Promise<void>;
}

/** Groups are the bridge's own: FullStory never sees them, only the roles they imply. */
export interface GroupReads {
  get(id: string): Promise<GroupRow | undefined>;
  all(): Promise<GroupRow[]>;
  query(terms: Terms, offset: number, limit: number): Promise<{ rows: GroupRow[]; total: number }>;
  /** Member ids in id order. */
  members(groupId: string): Promise<string[]>;
  /** The members (in id order) and their displays when the group has at most `limit`; undefined when it has more (no more than limit + 1 rows are read). */
  membersUpTo(groupId: string, limit: number): Promise<{ members: string[]; displays: Map<string, string> } | undefined>;
  membersOf(groupIds: readonly string[]): Promise<Map<string, string[]>>;
  /** The members of these groups that were given a `display`: group id → user id → display. */
  displaysOf(groupIds: readonly string[]): Promise<Map<string, Map<string, string>>>;
  /** For each user, the best (lowest) rank among the mapped groups they belong to. */
  bestRanks(userIds: readonly string[]): Promise<Map<string, number>>;
}

export interface GroupWrites extends GroupReads {
  /** Reads a group and holds it until the transaction ends: changes to one group queue on any replica. */
  getForUpdate(id: string): Promise<GroupRow | undefined>;
  /** Returns the creation time stored; throws UniquenessConflict where the name (any case) is taken. */
  insert(id: string, fields: GroupFields): Promise<string>;
  /** Returns the modification time stored; throws UniquenessConflict where the name is taken. */
  update(id: string, fields: GroupFields): Promise<string>;
  setRole(id: string, role: string | null, roleRank: number | null): Promise<void>;
  /** Marks the group changed (members only); returns the modification time stored. */
  touch(id: string): Promise<string>;
  delete(id: string): Promise<void>;
  /** Which of `userIds` are members: a PATCH adding one member to a large group reads one row, not all. */
  membersAmong(groupId: string, userIds: readonly string[]): Promise<Set<string>>;
  /** Idempotent. */
  addMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  removeMembers(groupId: string, userIds: readonly string[]): Promise<void>;
  /** Sets the `display` of members (that are members); others are left alone. */
  setDisplays(groupId: string, displays: ReadonlyMap<string, string>): Promise<void>;
}

/**
 * The role-sync outbox: one row per user whose FullStory role must change, written in
 * the transaction of the membership change that implies it. A newer desired role
 * replaces an older one and bumps `seq`, so a worker busy with the old one does not
 * clear the new one. Claims are rows, so any replica can work and a dead one's expire.
 */
export interface RoleSyncReads {
  stats(): Promise<RoleSyncStats>;
  /** Rows that failed at least once, the latest first. */
  failing(limit?: number): Promise<RoleSyncItem[]>;
}

export interface RoleSyncWrites extends RoleSyncReads {
  enqueue(changes: ReadonlyMap<string, string>): Promise<void>;
  /** Due rows nobody holds, claimed for `ttlMs`. */
  claim(workerId: string, limit: number, ttlMs: number): Promise<RoleSyncItem[]>;
  /** Done: removes the row unless a newer desired role arrived meanwhile (then hands it back). */
  complete(workerId: string, item: RoleSyncItem): Promise<void>;
  fail(workerId: string, item: RoleSyncItem, error: string, retryAt: Date): Promise<void>;
  /** Hands claims back (shutdown, or a newer desired role); all of the worker's without `userIds`. */
  release(workerId: string, userIds?: readonly string[]): Promise<void>;
}

/** Every change an IdP asked for, with its outcome. Never a token or a password. */
export interface AuditReads {
  since(fromIso: string, limit?: number): Promise<AuditTable[]>;
  /** For each resource id, its latest successful change (not a read) as of the last foldLastChanges: when, and by whom. */
  lastChanges(resourceIds: readonly string[]): Promise<Map<string, { at: string; by: string | null }>>;
}

export interface AuditWrites extends AuditReads {
  recordMany(entries: readonly AuditEntry[]): Promise<void>;
  /**
   * Folds up to `limit` rows written after `afterAt` into what lastChanges answers, and
   * every row sharing the last one's time: the time to go on from, or undefined when no
   * row was left. Done when asked (the access review), not on every write.
   */
  foldLastChanges(afterAt: string, limit: number): Promise<string | undefined>;
  /** Rows removed. */
  prune(beforeIso: string): Promise<number>;
}

export interface SharedRateBudget {
  /** Takes up to `n` tokens: how many were granted, and how long until more are worth asking for. */
  acquire(name: string, n: number, priority: Priority, cfg: BucketConfig): Promise<{ granted: number; waitMs: number }>;
  /** FullStory said 429: nobody draws until `seconds` from now. */
  pause(name: string, seconds: number): Promise<void>;
}
