import { ROLES, type Role } from '../config/roles.js';
import { pages, type FsUser, type FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { Delivery } from '../fullstory/roles/channel.js';
import { actualRoleReader, type ActualRole } from '../fullstory/roles/actual.js';
import { isActive, toUpstream } from '../provisioning/user-mapping.js';
import type { HoldRow, Store, UserRow } from '../store/store.js';
import { roleDecisions } from '../provisioning/approvals.js';
import { identityKey } from '../lib/identity-text.js';

/** Where the last plan's counts are kept (the console shows them). */
export const LAST_PLAN_KEY = 'plan.last';

export type PlanAction = 'create' | 'update' | 'deactivate' | 'roleChange' | 'unmanaged';

/** One change going live (or repairing drift) would make in FullStory, with who and why. */
export interface PlanItem {
  action: PlanAction;
  userId: string;
  userName: string;
  why: string;
  /** What FullStory holds now, where it holds something. */
  actual?: Record<string, unknown>;
  /** What the IdP wants. */
  desired?: Record<string, unknown>;
  /** For an update that links a shadow-made id to the user FullStory already holds. */
  linkTo?: string;
  /** A role change waiting for an operator, or one an operator rejected: `apply` leaves it alone. */
  hold?: { id: string; status: 'held' | 'rejected'; by: string | null };
}

export interface Plan {
  creates: number;
  updates: number;
  deactivations: number;
  roleChanges: number;
  /** Users FullStory holds that the IdP never managed: listed, never touched. */
  unmanaged: number;
  items: PlanItem[];
  /** Roles through SSO: the role each managed, active user should get at their next sign-in (FullStory's part is the IdP's SAML). */
  nextSignIn?: { userId: string; userName: string; role: string }[];
}

export interface PlanSource {
  store: Store;
  api: FullStoryApi;
  delivery: Delivery | undefined;
  capabilities: Capabilities;
  /** Bridge ids recorded in shadow mode that FullStory does not hold yet. */
  isPending: (id: string) => boolean;
}

/** The attributes compared: the ones FullStory keeps and shows back as written. */
const COMPARED = ['displayName', 'name.givenName', 'name.familyName'] as const;

function attr(o: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
}

/**
 * Desired state (the index: what the IdP told the bridge) against actual state (what
 * FullStory holds, read page by page within the budget): what `apply` would change.
 */
export async function makePlan(src: PlanSource): Promise<Plan> {
  const roleOf = await actualRoleReader(src.api, src.delivery, src.capabilities);
  const fsUsers = await teammates(src.api, roleOf);
  const byName = new Map([...fsUsers.values()].map((u) => [identityKey(u.userName), u]));
  const items: PlanItem[] = [];
  const nextSignIn: NonNullable<Plan['nextSignIn']> = [];
  const managed = new Set<string>();
  const decisions = await src.store.read((r) => roleDecisions(r));
  for await (const row of indexRows(src.store)) {
    const pending = src.isPending(row.id);
    const fs = pending ? byName.get(identityKey(row.userName)) : fsUsers.get(row.id);
    // A teammate adopted from FullStory that the IdP never changed stays unmanaged.
    const touched = row.role !== null || pending || row.deleted || !isActive(row.resource);
    if (fs && touched) managed.add(fs.id);
    items.push(...withDecision(compare(row, fs, pending, fs?.actual), decisions.get(row.id)));
    if (fs?.actual.kind === 'other') items.push(foreignRole(row, fs.actual.name));
    if (src.delivery === 'sso' && fs && touched && row.role !== null && !row.deleted && isActive(row.resource))
      nextSignIn.push({ userId: row.id, userName: row.userName, role: row.role });
  }
  // A set, not a search of the items per teammate: 100,000 teammates would be billions of comparisons.
  const listed = new Set(items.map((i) => i.userId));
  for (const u of fsUsers.values())
    if (!managed.has(u.id) && !listed.has(u.id)) {
      const role = u.actual.kind === 'role' ? u.actual.role : u.actual.kind === 'other' ? u.actual.name : undefined;
      const why = 'FullStory holds this user; the IdP never managed it (left alone)';
      items.push({ action: 'unmanaged', userId: u.id, userName: u.userName, why, ...(role ? { actual: { role } } : {}) });
    }
  const counts = new Map<PlanAction, number>();
  for (const i of items) counts.set(i.action, (counts.get(i.action) ?? 0) + 1);
  const count = (a: PlanAction) => counts.get(a) ?? 0;
  return {
    creates: count('create'),
    updates: count('update'),
    deactivations: count('deactivate'),
    roleChanges: count('roleChange'),
    unmanaged: count('unmanaged'),
    items,
    ...(src.delivery === 'sso' ? { nextSignIn } : {}),
  };
}

/** A teammate as the plan needs it: what is compared, and the role read once. The rest of FullStory's answer is dropped as each page arrives. */
type Teammate = Pick<FsUser, 'id' | 'userName' | 'active' | 'displayName' | 'name'> & { actual: ActualRole };

/** Every FullStory teammate, page by page within the budget, kept only as the plan compares them. */
async function teammates(api: FullStoryApi, roleOf: (u: FsUser) => ActualRole): Promise<Map<string, Teammate>> {
  const out = new Map<string, Teammate>();
  for await (const u of pages((start) => api.listUsers(start, 100, undefined, 'sync'))) {
    const name = u.name
      ? {
          ...(u.name.givenName !== undefined ? { givenName: u.name.givenName } : {}),
          ...(u.name.familyName !== undefined ? { familyName: u.name.familyName } : {}),
        }
      : undefined;
    out.set(u.id, {
      id: u.id,
      userName: u.userName,
      ...(u.active !== undefined ? { active: u.active } : {}),
      ...(u.displayName !== undefined ? { displayName: u.displayName } : {}),
      ...(name ? { name } : {}),
      actual: roleOf(u),
    });
  }
  return out;
}

/** The index's users a page at a time, tombstones last: never all of their documents in memory at once. */
async function* indexRows(store: Store): AsyncGenerator<UserRow> {
  for (let after: string | undefined; ;) {
    const page = await store.read((r) => r.users.page(after, 1000));
    yield* page;
    if (page.length < 1000) break;
    after = page[page.length - 1]!.id;
  }
  // Tombstones (deleted by the IdP where FullStory could only deactivate) are not in page().
  yield* await store.read((r) => r.users.tombstones());
}

/** A role change that waits for an operator, or that one rejected, says so (and `apply` leaves it). */
function withDecision(items: PlanItem[], h: HoldRow | undefined): PlanItem[] {
  if (!h) return items;
  return items.map((i) => {
    if (i.action !== 'roleChange') return i;
    const why =
      h.status === 'rejected'
        ? `${i.why}; rejected by ${h.decidedBy ?? 'an operator'}${h.decisionNote ? ` (${h.decisionNote})` : ''}: FullStory keeps its role until the IdP or the mapping changes`
        : `${i.why}; held (${h.kind}, hold ${h.id}) until an operator releases or rejects it`;
    return { ...i, why, hold: { id: h.id, status: h.status as 'held' | 'rejected', by: h.decidedBy } };
  });
}

/** A user the IdP manages whose FullStory role is FullStory's own (Umbrella Admin): listed with it, never changed. */
function foreignRole(row: UserRow, name: string): PlanItem {
  const why = `FullStory shows the role "${name}", which the bridge does not manage: its role is left alone`;
  return { action: 'unmanaged', userId: row.id, userName: row.userName, why, actual: { role: name } };
}

/** What one indexed user needs in FullStory. */
function compare(row: UserRow, fs: Teammate | undefined, pending: boolean, actual: ActualRole | undefined): PlanItem[] {
  const base = { userId: row.id, userName: row.userName };
  const wantActive = isActive(row.resource) && !row.deleted;
  const desired = toUpstream(row.resource) as Record<string, unknown>;
  if (row.role === null && !pending) {
    // A teammate adopted from FullStory is the IdP's only where it said so: its deactivation.
    return fs && fs.active !== false && !wantActive
      ? [
          {
            ...base,
            action: 'deactivate',
            why: row.deleted ? 'the IdP deleted this user' : 'the IdP deactivated this user',
            actual: { active: true },
            desired: { active: false },
          },
        ]
      : [];
  }
  if (!fs) {
    const why = pending ? 'recorded in shadow mode; FullStory does not hold it' : 'FullStory no longer holds this user the IdP manages';
    return [{ ...base, action: 'create', why, desired: { ...desired, active: wantActive, role: row.role } }];
  }
  const out: PlanItem[] = [];
  const changed = COMPARED.filter((p) => typeof attr(desired, p) === 'string' && typeof attr(fs, p) === 'string' && attr(desired, p) !== attr(fs, p));
  if (pending || changed.length > 0) {
    out.push({
      ...base,
      action: 'update',
      why: pending
        ? 'FullStory already holds this userName: the bridge links its id to it' + (changed.length ? ` and sets ${changed.join(', ')}` : '')
        : `the IdP set ${changed.join(', ')}`,
      actual: Object.fromEntries(changed.map((p) => [p, attr(fs, p)])),
      desired: Object.fromEntries(changed.map((p) => [p, attr(desired, p)])),
      ...(pending ? { linkTo: fs.id } : {}),
    });
  }
  const fsActive = fs.active !== false;
  if (fsActive !== wantActive) {
    out.push({
      ...base,
      action: wantActive ? 'update' : 'deactivate',
      why: wantActive
        ? 'the IdP wants this user active; FullStory holds it deactivated'
        : row.deleted
          ? 'the IdP deleted this user'
          : 'the IdP deactivated this user',
      actual: { active: fsActive },
      desired: { active: wantActive },
    });
  }
  // Only a role SCIM shows can differ: none through SSO or FullStory's group table, and one of FullStory's own is never changed.
  const actualRole = actual?.kind === 'role' ? actual.role : actual?.kind === 'unknown' ? 'unknown' : undefined;
  if (wantActive && row.role !== null && actualRole !== undefined && actualRole !== row.role && ROLES.includes(row.role as Role)) {
    out.push({
      ...base,
      action: 'roleChange',
      why: `FullStory holds ${actualRole}; the IdP's groups call for ${row.role}`,
      actual: { role: actualRole },
      desired: { role: row.role },
    });
  }
  return out;
}
