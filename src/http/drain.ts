import type { IncomingMessage } from 'node:http';

/** How much of a refused body is read and thrown away so that its sender sees the answer. */
export const DRAIN_BYTES = 64 * 1024 * 1024;
export const DRAIN_MS = 30_000;

/**
 * Reads the rest of a request body and discards it, up to `bytes` or `ms`. A client that
 * sends its whole body before reading (most do) is otherwise cut off by the close that
 * follows a 413 and sees a dropped connection instead of the answer. Past the bound the
 * answer is sent anyway and the connection closes after it.
 */
export function drain(raw: IncomingMessage, bytes = DRAIN_BYTES, ms = DRAIN_MS): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const finish = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', finish).off('error', finish).off('close', finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > bytes) finish();
    };
    const timer = setTimeout(finish, ms);
    raw.on('data', onData).once('end', finish).once('error', finish).once('close', finish);
    raw.resume();
  });
}
