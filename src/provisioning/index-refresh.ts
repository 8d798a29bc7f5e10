import type { Logger } from 'pino';
import { pages, type FsUser, type FullStoryApi } from '../fullstory/api.js';
import type { Store } from '../store/store.js';
import { fromUpstream, mergeUpstream } from './user-mapping.js';

const KEY = 'index.refreshed_at';
const PAGE = 100;

export interface IndexRefreshDeps {
  store: Store;
  api: FullStoryApi;
  logger: Logger;
  /** How stale the index may be when it answers alone (INDEX_FRESHNESS_SECONDS); 0: always ask FullStory. */
  freshnessMs: number;
}

/**
 * Keeps the index a complete, fresh copy of FullStory's users, so that a lookup that
 * misses and a GET by id are answered without a FullStory call. An import at startup and
 * a refresh every `freshnessMs`, paged at background priority (behind IdP calls), and
 * done by one replica per period (the time of the last one is shared in the store). A
 * refresh adopts users made in FullStory, takes FullStory's word on what it holds (a
 * change made there shows within the period), and forgets users FullStory deleted.
 */
/** What FullStory keeps of a user and shows back (mergeUpstream reads these). */
function kept(fs: FsUser): FsUser {
  const out: FsUser = { id: fs.id, userName: fs.userName };
  for (const k of ['displayName', 'active', 'name'] as const) if (fs[k] !== undefined) (out as Record<string, unknown>)[k] = fs[k];
  return out;
}

export class IndexRefresh {
  private refreshedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: IndexRefreshDeps) {}

  get enabled(): boolean {
    return this.deps.freshnessMs > 0;
  }

  /** The index holds every FullStory user (as of the last refresh, within the period). */
  complete(now = Date.now()): boolean {
    return this.enabled && now - this.refreshedAt <= this.deps.freshnessMs * 2;
  }

  /** For /readyz: complete or not, and the last refresh this process knows of. */
  status(now = Date.now()): { complete: boolean; refreshedAt: string | null } {
    return { complete: this.complete(now), refreshedAt: this.refreshedAt > 0 ? new Date(this.refreshedAt).toISOString() : null };
  }

  /** The index may answer a read alone. */
  fresh(now = Date.now()): boolean {
    return this.enabled && now - this.refreshedAt <= this.deps.freshnessMs;
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    const tick = () =>
      void this.refresh().catch((err: unknown) =>
        this.deps.logger.warn({ err: (err as Error).message }, 'index refresh failed; lookups ask FullStory until the next one'),
      );
    tick();
    this.timer = setInterval(tick, Math.max(1000, this.deps.freshnessMs / 2)).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One refresh, unless another replica (or this one) did one within half the period. */
  refresh(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const { store } = this.deps;
    const shared = Number((await store.read((r) => r.kv.get(KEY))) ?? 0);
    if (Date.now() - shared < this.deps.freshnessMs / 2) {
      this.refreshedAt = Math.max(this.refreshedAt, shared);
      return;
    }
    const started = Date.now();
    const seen = new Set<string>();
    let batch: FsUser[] = [];
    let changed = 0;
    for await (const u of pages((start) => this.deps.api.listUsers(start, PAGE, undefined, 'sync'))) {
      seen.add(u.id);
      batch.push(u);
      if (batch.length >= PAGE) {
        changed += await this.absorb(batch);
        batch = [];
      }
    }
    changed += await this.absorb(batch);
    const gone = await this.forgetMissing(seen, new Date(started).toISOString());
    await store.transaction((tx) => tx.kv.set(KEY, String(started)));
    this.refreshedAt = started;
    this.deps.logger.info({ users: seen.size, changed, gone, ms: Date.now() - started }, 'index refreshed from FullStory');
  }

  /** New users adopted; known ones take FullStory's word on what it keeps. */
  private async absorb(users: FsUser[]): Promise<number> {
    if (users.length === 0) return 0;
    const { store, api } = this.deps;
    return store.transaction(async (tx) => {
      const rows = new Map((await tx.users.getMany(users.map((u) => u.id))).map((r) => [r.id, r]));
      await tx.users.adopt(users.filter((u) => !rows.has(u.id)).map((fs) => ({ id: fs.id, resource: fromUpstream(fs), role: null })));
      let n = 0;
      for (const fs of users) {
        const row = rows.get(fs.id);
        if (!row || row.deleted || api.links.isPending(row.id)) continue;
        // FullStory's word is kept beside the IdP's, never over it: plan compares the two.
        const differs = JSON.stringify(mergeUpstream(row.resource, fs)) !== JSON.stringify(row.resource);
        if (differs) {
          await tx.users.setUpstream(row.id, kept(fs));
          n++;
        } else if (row.upstream) await tx.users.setUpstream(row.id, null);
      }
      return n + users.length - rows.size;
    });
  }

  /** Index rows FullStory no longer holds (deleted there) are forgotten; shadow-made ones are kept. */
  private async forgetMissing(seen: Set<string>, startedIso: string): Promise<number> {
    const { store, api } = this.deps;
    const gone: string[] = [];
    for (let after: string | undefined; ;) {
      const page = await store.read((r) => r.users.page(after, 1000));
      // A user made or changed since the listing began may not be in it: only older rows go.
      for (const row of page)
        if (!seen.has(row.id) && !api.links.isPending(row.id) && row.updatedAt < startedIso && row.createdAt < startedIso) gone.push(row.id);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    if (gone.length > 0)
      await store.transaction(async (tx) => {
        for (const id of gone) await tx.users.delete(id, false);
      });
    return gone.length;
  }
}
