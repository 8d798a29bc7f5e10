import { identityKey } from '../lib/identity-text.js';
import type { UserResource } from '../scim/user.js';

/**
 * Entra's soft delete renames the user: the userPrincipalName becomes the user's object
 * id (32 hex characters, no dashes) followed by the original UPN, provisioned as `userName`
 * with (or before) `active: false`; a restore sends the original back. FullStory identifies
 * teammates by email, so forwarding the rename would change the teammate (or fail) and
 * put the Entra job into quarantine: the bridge keeps the rename to itself.
 */
const OBJECT_ID = /^[0-9a-f]{32}/i;

/** Whether `candidate` is Entra's tombstone name of `original`. */
export function isTombstoneOf(candidate: string, original: string): boolean {
  return candidate.length > 32 && OBJECT_ID.test(candidate) && identityKey(candidate.slice(32)) === identityKey(original);
}

/**
 * `before` and `after` as FullStory holds and should hold them: a rename into Entra's
 * tombstone (or a change to a user already so renamed), and the rename back out of it,
 * keep on both sides the userName FullStory has (the original), so no write carries it
 * (`tombstone` says it was one); any other change passes as it is. `held` is FullStory's
 * userName, where known.
 */
export function asFullStorySees(
  before: UserResource,
  after: UserResource,
  held: string = before.userName,
): { before: UserResource; after: UserResource; tombstone: boolean } {
  if (isTombstoneOf(after.userName, held)) return { before: { ...before, userName: held }, after: { ...after, userName: held }, tombstone: true };
  if (isTombstoneOf(before.userName, after.userName)) return { before: { ...before, userName: after.userName }, after, tombstone: true };
  return { before, after, tombstone: false };
}
