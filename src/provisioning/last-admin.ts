import { pages, type FullStoryApi } from '../fullstory/api.js';
import type { Capabilities } from '../fullstory/preflight.js';
import type { Delivery } from '../fullstory/role-channel.js';
import { decodeRoles, ROLE_NAME } from '../fullstory/role-wire.js';

/** Pages read at most to find another admin; past it, none is assumed (the change is held). */
const MAX_PAGES = 50;

export interface LastAdminDeps {
  api: FullStoryApi;
  capabilities: () => Capabilities;
  delivery: () => Delivery | undefined;
}

/**
 * Whether FullStory has an active admin besides some users: read from FullStory itself
 * (its role group, or its users' roles), since admins the IdP never managed count too.
 * Asked only when a change would take an admin away.
 */
export class LastAdmin {
  constructor(private readonly deps: LastAdminDeps) {}

  async othersExist(leaving: ReadonlySet<string>): Promise<boolean> {
    if (this.deps.delivery() === 'role-groups') {
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
