import { hash } from 'node:crypto';

/** A token as the bridge stores and compares it, never in the clear. One-shot: a Hash object per call cost twice as much. */
export function sha256(token: string): Buffer<ArrayBufferLike> {
  return hash('sha256', token, 'buffer');
}
