import type { FullStoryWrite } from '../fullstory/writes.js';
import type { HoldRow } from '../store/store.js';

/**
 * What the audit log is told, as typed events; `log.ts` turns each into rows and redacts
 * them in one place. Actors: an IdP token's name, `ops:<name>` (the console), `cli:<verb>`,
 * or `role-sync` (the worker delivering roles).
 */

/** One change an IdP asked for, with the FullStory writes it made (the first on its row, any others on rows of their own). */
export interface RequestEvent {
  actor: string;
  userAgent: string | undefined;
  method: string;
  /** The route's pattern below the SCIM base, e.g. "/Users/:id". */
  route: string;
  resourceId: string | null;
  subject: string | undefined;
  status: number;
  detail: string | undefined;
  writes: readonly FullStoryWrite[];
  /** Shadow mode: the writes went nowhere. */
  shadow: boolean;
  /** The guard held it (503): a `held` row, not a failure. */
  held: boolean;
}

/** Writes made outside an IdP request: the worker, apply, a release. */
export interface WriteEvent {
  actor: string;
  write: FullStoryWrite;
  shadow?: boolean;
}

/** A change the guard held, released, or (issue 30) rejected. */
export interface HoldEvent {
  actor: string | null;
  hold: HoldRow;
  action: 'held' | 'released' | 'release-failed' | 'rejected';
  /** The release's FullStory write, where it made one. */
  upstreamStatus?: number | null;
  detail?: string;
}

/** A caller refused at the edge or at sign-in: an address, a token, an ops token. */
export interface RefusalEvent {
  operation: 'auth.address' | 'auth.failure' | 'console.login';
  address: string;
  userAgent: string | undefined;
  method: string;
  status: number;
  detail: string;
}

/** Something an operator did in the console that is not a FullStory write. */
export interface ConsoleEvent {
  actor: string;
  operation: 'console.logout' | 'console.access-review';
  detail: string;
}
