import { pages, type FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { Delivery } from '../fullstory/roles/channel.js';
import { decodeRoles, ROLE_NAME } from '../fullstory/roles/wire.js';
import type { Store } from '../store/store.js';
import { isActive } from './user-mapping.js';
import { roleDecisions } from './approvals.js';

/** Pages read at most to find another admin; past it, none is assumed (the change is held). */
const MAX_PAGES = 50;

export interface LastAdminDeps {
  api: FullStoryApi;
  capabilities: () => Capabilities;
  delivery: () => Delivery | undefined;
  /** Whether the bridge's own record has another active admin: the only word there is where SCIM shows no roles (sso, groups passthrough). */
  recordedAdmins: (leaving: ReadonlySet<string>) => Promise<boolean>;
}

/**
 * Whether FullStory has an active admin besides some users: read from FullStory itself
 * (its role group, or its users' roles), since admins the IdP never managed count too.
 * Asked only when a change would take an admin away.
 */
export class LastAdmin {
  constructor(private readonly deps: LastAdminDeps) {}

  async othersExist(leaving: ReadonlySet<string>): Promise<boolean> {
    const delivery = this.deps.delivery();
    // FullStory's own admins cannot be seen there: only those the bridge asked for count, so the guard errs on holding.
    if (delivery === 'sso' || delivery === 'groups-passthrough') return this.deps.recordedAdmins(leaving);
    if (delivery === 'role-groups') {
      const caps = this.deps.capabilities();
      const id = caps.roleGroups.get('admin');
      const group = id ? await this.deps.api.getGroup(id) : await this.deps.api.findGroup(ROLE_NAME.admin, { filters: caps.groupFilters });
      const members = (group?.members ?? []).map((m) => m.value).filter((u) => !leaving.has(u));
      for (const u of members.slice(0, 20)) if ((await this.deps.api.getUser(u, 'sync').catch(() => undefined))?.active !== false) return true;
      return false;
    }
    let n = 0;
    for await (const u of pages((start) => this.deps.api.listUsers(start, 100, undefined, 'sync'))) {
      if (!leaving.has(u.id) && u.active !== false) {
        const r = decodeRoles(u.roles);
        if (r.kind === 'role' && r.role === 'admin') return true;
      }
      if (++n > MAX_PAGES * 100) return false;
    }
    return false;
  }
}

/** Another active user the bridge made an admin, besides `leaving`, in its own record (a page at a time, stopping at the first). */
export async function recordedAdmins(store: Store, leaving: ReadonlySet<string>): Promise<boolean> {
  // A grant waiting for approval, or rejected, is the bridge's record but not FullStory's: no admin there.
  const decisions = await store.read((r) => roleDecisions(r));
  const notYet = new Set([...decisions.values()].filter((h) => h.kind === 'approval').map((h) => h.userId));
  for (let after: string | undefined; ;) {
    const page = await store.read((r) => r.users.page(after, 1000));
    if (page.some((u) => u.role === 'admin' && !leaving.has(u.id) && !notYet.has(u.id) && !u.deleted && isActive(u.resource))) return true;
    if (page.length < 1000) return false;
    after = page[page.length - 1]!.id;
  }
}
