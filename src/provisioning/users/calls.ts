import type { FsUser } from '../../fullstory/api.js';
import { UpstreamError } from '../../fullstory/errors.js';
import { decodeRoles } from '../../fullstory/roles/wire.js';
import type { UserResource } from '../../scim/user.js';
import type { UserRow } from '../../store/store.js';
import { isActive, mergeUpstream } from '../user-mapping.js';
import { upstreamToScim } from '../upstream-errors.js';
import type { UserView } from './types.js';

/** Small pieces the users' reads and writes share. */

export function viewOf(row: UserRow, fs?: FsUser, resource: UserResource = row.resource): UserView {
  return {
    id: row.id,
    resource: mergeUpstream(resource, fs),
    created: row.createdAt,
    lastModified: fs?.meta?.lastModified ?? row.updatedAt,
    version: row.version,
  };
}

/** A read answered from the index: what the IdP wrote, with FullStory's copy as the last refresh saw it. */
export function indexedView(row: UserRow): UserView {
  return viewOf(row, (row.upstream ?? undefined) as FsUser | undefined);
}

/** FullStory's call, with its failure translated into the SCIM Error the IdP gets (what was written is in `OpContext.writes`). */
export async function callUpstream<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UpstreamError) throw upstreamToScim(err);
    throw err;
  }
}

/** `active true → false` where a write changes it; undefined where it does not. */
export function activeChange(before: UserResource, after: UserResource): string | undefined {
  const [a, b] = [isActive(before), isActive(after)];
  return a === b ? undefined : `active ${a} → ${b}`;
}

/** FullStory's answer shows the user holding `role`. */
export function showsRole(fs: FsUser | undefined, role: string): boolean {
  const r = decodeRoles(fs?.roles);
  return r.kind === 'role' && r.role === role;
}

/** The lists' usual order: oldest first, then by id. */
export const byCreation = (a: UserRow, b: UserRow) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function createdOf(fs: FsUser): { createdAt?: string } {
  return typeof fs.meta?.created === 'string' ? { createdAt: fs.meta.created } : {};
}
