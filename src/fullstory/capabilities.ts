import type { Role } from '../config/roles.js';
import { encodeRoles, ROLE_NAME, type RoleForm } from './roles/wire.js';

/** What FullStory turned out to support, learned at startup rather than assumed. */
export interface Capabilities {
  discovery: boolean;
  patchUsers: boolean;
  deleteUsers: boolean;
  groups: boolean;
  /** `displayName eq` on /Groups (#13: the strict column has none). */
  groupFilters: boolean;
  /** Filter attributes FullStory runs itself on Users (lower case): always userName. */
  filters: Set<string>;
  /** The largest page FullStory serves (#22): declared in discovery, or seen cut; 100 until then. */
  maxPage: number;
  /** Role groups FullStory already holds, by role, with their ids (#24). */
  roleGroups: Map<Role, string>;
  /** How the users on FullStory's first page came back: with `roles` (and its form), or without. */
  usersRoles: { shown: number; absent: number; form?: RoleForm };
}

/** The page the IdP asks for; a FullStory that serves less is paged through. */
const IDP_PAGE = 100;

/**
 * What preflight found FullStory supports, each declared once: `check` prints `name` and
 * the words, the console shows `label` and the words, /readyz carries them by `name`.
 * A new capability is a probe in preflight.ts, a line here, a sandbox switch and a test.
 */
const CAPABILITIES: { name: string; label: string; words: (c: Capabilities) => string }[] = [
  {
    name: 'capabilities',
    label: 'operations',
    words: (c) =>
      `PATCH /Users: ${c.patchUsers ? 'yes' : 'no (the bridge reads, applies and PUTs)'}; DELETE /Users: ${c.deleteUsers ? 'yes' : 'no (the bridge deactivates instead)'}; /Groups: ${c.groups ? 'yes' : 'no'}; filters: ${[...c.filters].join(', ')}`,
  },
  {
    name: 'discovery',
    label: 'discovery',
    words: (c) =>
      c.discovery ? 'FullStory serves /ServiceProviderConfig' : 'FullStory serves no discovery (/ServiceProviderConfig 404); capabilities were probed instead',
  },
  {
    name: 'group-filters',
    label: 'group filters',
    words: (c) =>
      !c.groups
        ? 'no /Groups'
        : c.groupFilters
          ? 'FullStory filters /Groups by displayName'
          : 'FullStory runs no filter on /Groups: role groups are found by listing them',
  },
  {
    name: 'page-size',
    label: 'largest page',
    words: (c) => `FullStory serves at most ${c.maxPage} resources a page${c.maxPage < IDP_PAGE ? ': the bridge fetches several to fill a page of 100' : ''}`,
  },
  {
    name: 'user-roles',
    label: 'roles on users',
    words: ({ usersRoles: r }) =>
      r.shown > 0
        ? `FullStory shows \`roles\` on its users, written as ${JSON.stringify(encodeRoles('architect', r.form!))}`
        : r.absent > 0
          ? 'FullStory shows no `roles` on its users'
          : 'FullStory holds no users yet: nothing shows how it writes roles',
  },
  {
    name: 'role-groups',
    label: 'role groups',
    words: (c) =>
      !c.groups
        ? 'no /Groups, so no role groups'
        : c.roleGroups.size > 0
          ? `FullStory already holds role groups: ${[...c.roleGroups].map(([r, id]) => `${ROLE_NAME[r]} (${id})`).join(', ')}`
          : 'FullStory holds no role groups yet',
  },
];

/** Every capability in words, in one order for check, the console and /readyz. */
export function describeCapabilities(c: Capabilities): { name: string; label: string; message: string }[] {
  return CAPABILITIES.map(({ name, label, words }) => ({ name, label, message: words(c) }));
}
