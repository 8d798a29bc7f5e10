import { UpstreamError } from './errors.js';

/**
 * Ids the bridge assigned in shadow mode, and FullStory's id for each once `apply` made
 * the user there. The IdP keeps the bridge's id for good; every call to FullStory is
 * translated here, both ways. Users FullStory made (every user of a live-born bridge)
 * have no link: their id is FullStory's.
 */
export class IdLinks {
  private readonly up = new Map<string, string | null>();
  private readonly down = new Map<string, string>();

  constructor(private readonly load: () => Promise<{ id: string; upstreamId: string | null }[]> = async () => []) {}

  /** Reads every link again (another replica or `apply` may have added some). */
  async refresh(): Promise<void> {
    const all = await this.load();
    this.up.clear();
    this.down.clear();
    for (const l of all) this.set(l.id, l.upstreamId);
  }

  set(id: string, upstreamId: string | null): void {
    this.up.set(id, upstreamId);
    if (upstreamId !== null) this.down.set(upstreamId, id);
  }

  /** A bridge-made id that FullStory does not hold yet: the plan that makes it is pending. */
  isPending(id: string): boolean {
    return this.up.has(id) && this.up.get(id) === null;
  }

  get pendingCount(): number {
    let n = 0;
    for (const v of this.up.values()) if (v === null) n++;
    return n;
  }

  /** FullStory's id for a bridge id; a pending one cannot be called. */
  upstreamOf(id: string): string {
    const up = this.up.get(id);
    if (up === undefined) return id;
    if (up === null) {
      throw new UpstreamError(
        503,
        'This user was recorded in shadow mode and FullStory does not hold it yet: a plan is pending (run `fullstory-scim-bridge plan`, then `apply`)',
        'pending',
        undefined,
        300,
      );
    }
    return up;
  }

  /** The bridge's id for FullStory's. */
  bridgeOf(upstreamId: string): string {
    return this.down.get(upstreamId) ?? upstreamId;
  }
}
