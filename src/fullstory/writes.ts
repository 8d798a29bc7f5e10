import { UpstreamError } from './errors.js';

/**
 * One write the bridge sent to FullStory (or, in shadow mode, would have sent): what the
 * audit log records, one row each, whichever path sent it (an IdP request, the role-sync
 * worker, apply, release).
 */
export interface FullStoryWrite {
  operation: 'users.create' | 'users.replace' | 'users.patch' | 'users.delete' | 'groups.create' | 'groups.replace' | 'roles.sso' | 'roles.left-alone';
  userId?: string | null;
  userName?: string | null;
  /** A role group's name, for group writes. */
  group?: string;
  /** What changed, in words: `active true → false`, `role → admin`, `+3 −1 members`. */
  change?: string;
  /** FullStory's status for this write (0: no answer came); null when FullStory was not called (shadow mode). */
  upstreamStatus: number | null;
  ok: boolean;
  /** Why it failed, or a note. */
  detail?: string;
}

export type WriteRecorder = (write: FullStoryWrite) => void;

/** The status FullStory answers a successful write of this kind with (the api returns bodies, not statuses). */
const OK_STATUS: Record<FullStoryWrite['operation'], number> = {
  'users.create': 201,
  'users.replace': 200,
  'users.patch': 200,
  'users.delete': 204,
  'groups.create': 201,
  'groups.replace': 200,
  'roles.sso': 0,
  'roles.left-alone': 0,
};

/**
 * Runs one FullStory write and records it, succeeded or failed (the error is rethrown).
 * `shadow`: nothing was sent, and the record says so instead of claiming a status.
 */
export async function recordWrite<T>(
  record: WriteRecorder | undefined,
  facts: Omit<FullStoryWrite, 'upstreamStatus' | 'ok'>,
  run: () => Promise<T>,
  shadow = false,
): Promise<T> {
  try {
    const result = await run();
    record?.({
      ...facts,
      ok: true,
      upstreamStatus: shadow ? null : facts.operation === 'users.patch' && result === undefined ? 204 : OK_STATUS[facts.operation],
    });
    return result;
  } catch (err) {
    const status = err instanceof UpstreamError ? err.status : null;
    record?.({ ...facts, ok: false, upstreamStatus: shadow ? null : status, detail: (err as Error).message.slice(0, 300) });
    throw err;
  }
}
