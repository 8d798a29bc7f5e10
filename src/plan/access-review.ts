import { createHash } from 'node:crypto';
import type { FsUser, FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import { actualRoleReader, type ActualRole } from '../fullstory/roles/actual.js';
import type { Delivery } from '../fullstory/roles/channel.js';
import { MODES } from '../fullstory/roles/modes.js';
import type { RolePolicy } from '../provisioning/role-policy.js';
import { isActive } from '../provisioning/user-mapping.js';
import { foldAuditLastChanges } from '../store/last-changes.js';
import type { HoldRow, Store, UserRow } from '../store/store.js';
import { roleDecisions } from '../provisioning/approvals.js';

/** One FullStory teammate as an access review lists them. */
export interface ReviewRow {
  userName: string;
  displayName: string;
  active: boolean;
  /** The role FullStory shows, or why none can be shown. */
  fullstoryRole: string;
  /** The role the mapping wants ('' for a teammate the IdP does not manage). */
  mappedRole: string;
  /** The IdP's mapped groups that grant a role, highest precedence first, and the one that wins. */
  grantedBy: string;
  winningGroup: string;
  managed: boolean;
  created: string;
  lastChangedAt: string;
  lastChangedBy: string;
  drift: boolean;
  /** A role change waiting for an operator, or one an operator rejected (who, why): why the drift stands. */
  decision: string;
}

export interface ReviewHeader {
  takenAt: string;
  fullstory: string;
  /** The mapping's fingerprint (SHA-256 of what decides roles, first 16 hex): equal fingerprints, equal roles. */
  mappingFingerprint: string;
  delivery: string;
  verification: string;
  teammates: number;
  /** Teammates per role FullStory shows. */
  roles: Record<string, number>;
}

export interface ReviewSource {
  store: Store;
  api: FullStoryApi;
  policy: RolePolicy;
  delivery: Delivery | undefined;
  capabilities: Capabilities;
  fullstoryUrl: string;
  /** Told after each page: teammates so far, and how many FullStory says it holds. */
  progress?: (done: number, total: number) => void;
}

const shownRole = (a: ActualRole): string =>
  a.kind === 'role' ? a.role : a.kind === 'other' ? a.name : a.kind === 'invisible' ? 'not visible through SCIM' : 'unknown';

/** Each user's mapped groups, highest precedence first: read once (memberships of mapped groups only). */
async function mappedGroupsByUser(store: Store): Promise<Map<string, { name: string; role: string }[]>> {
  return store.read(async (r) => {
    const groups = (await r.groups.all()).filter((g) => g.role !== null).sort((a, b) => (a.roleRank ?? 0) - (b.roleRank ?? 0));
    const members = await r.groups.membersOf(groups.map((g) => g.id));
    const out = new Map<string, { name: string; role: string }[]>();
    for (const g of groups) {
      for (const id of members.get(g.id) ?? []) {
        const mine = out.get(id);
        if (mine) mine.push({ name: g.displayName, role: g.role! });
        else out.set(id, [{ name: g.displayName, role: g.role! }]);
      }
    }
    return out;
  });
}

/** The header's fixed part; counts and totals are added as the rows go by. */
export function reviewHeader(src: Pick<ReviewSource, 'policy' | 'delivery' | 'fullstoryUrl'>): ReviewHeader {
  return {
    takenAt: new Date().toISOString(),
    fullstory: src.fullstoryUrl,
    mappingFingerprint: createHash('sha256').update(src.policy.fingerprint).digest('hex').slice(0, 16),
    delivery: src.delivery ?? 'undecided',
    verification: src.delivery ? MODES[src.delivery].verification : 'undecided',
    teammates: 0,
    roles: {},
  };
}

/**
 * Every FullStory teammate as FullStory holds them, a page at a time within the budget,
 * beside what the IdP and the mapping want and who last changed them: rows are yielded as
 * each page is read, so 100,000 teammates never sit in memory at once.
 */
export async function* reviewRows(src: ReviewSource): AsyncGenerator<ReviewRow> {
  await foldAuditLastChanges(src.store);
  const roleOf = await actualRoleReader(src.api, src.delivery, src.capabilities);
  const groupsOf = await mappedGroupsByUser(src.store);
  const decisions = await src.store.read((r) => roleDecisions(r));
  let done = 0;
  for (let start = 1; ;) {
    const page = await src.api.listUsers(start, 100, undefined, 'sync');
    const users = page.Resources ?? [];
    const ids = users.map((u) => u.id);
    const [rows, changes] = await src.store.read(async (r) => [await r.users.getMany(ids), await r.audit.lastChanges(ids)] as const);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const u of users) yield { ...row(u, byId.get(u.id), roleOf(u), groupsOf.get(u.id) ?? [], changes.get(u.id)), decision: decided(decisions.get(u.id)) };
    done += users.length;
    src.progress?.(done, page.totalResults);
    start += users.length;
    if (users.length === 0 || start > page.totalResults) return;
  }
}

function decided(h: HoldRow | undefined): string {
  if (!h) return '';
  if (h.status === 'rejected')
    return `${h.kind} to ${h.role ?? '?'} rejected by ${h.decidedBy ?? '?'} at ${h.decidedAt ?? '?'}${h.decisionNote ? `: ${h.decisionNote}` : ''}`;
  return `${h.kind} to ${h.role ?? '?'} held since ${h.at} (hold ${h.id})`;
}

function row(
  u: FsUser,
  idx: UserRow | undefined,
  actual: ActualRole,
  groups: { name: string; role: string }[],
  last?: { at: string; by: string | null },
): Omit<ReviewRow, 'decision'> {
  const managed = idx !== undefined && (idx.role !== null || idx.deleted || !isActive(idx.resource));
  const active = u.active !== false;
  const wantActive = idx ? isActive(idx.resource) && !idx.deleted : active;
  const roleDrift = managed && idx!.role !== null && actual.kind === 'role' && actual.role !== idx!.role;
  return {
    userName: u.userName,
    displayName: u.displayName ?? [u.name?.givenName, u.name?.familyName].filter(Boolean).join(' '),
    active,
    fullstoryRole: shownRole(actual),
    mappedRole: managed ? (idx!.role ?? '') : '',
    grantedBy: groups.map((g) => `${g.name} (${g.role})`).join('; '),
    winningGroup: groups[0]?.name ?? '',
    managed,
    created: u.meta?.created ?? idx?.createdAt ?? '',
    lastChangedAt: last?.at ?? '',
    lastChangedBy: last?.by ?? '',
    drift: managed && (roleDrift || active !== wantActive),
  };
}
