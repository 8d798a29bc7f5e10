import type { Priority } from './budget.js';
import type { ScimCaller } from './client.js';
import { IdLinks } from './links.js';

/** A user as FullStory returns it. */
export interface FsUser {
  id: string;
  userName: string;
  active?: boolean;
  externalId?: string;
  displayName?: string;
  name?: Record<string, unknown>;
  emails?: Record<string, unknown>[];
  /** In whichever form this FullStory writes it (role-wire.ts). */
  roles?: unknown[];
  meta?: { created?: string; lastModified?: string };
  [k: string]: unknown;
}

export interface FsGroup {
  id: string;
  displayName: string;
  members?: { value: string }[];
}

export interface FsList<T> {
  totalResults: number;
  startIndex?: number;
  itemsPerPage?: number;
  Resources?: T[];
}

export interface FsPatchOp {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const q = (s: string) => encodeURIComponent(s);

/** Pages FullStory never ends (a bound against a list that keeps growing or a broken total). */
const PAGE_LIMIT = 2_000;

/**
 * Every resource of a list, page by page: the next page starts after what FullStory
 * actually returned, so a FullStory that cuts pages short (#22) skips nothing.
 */
export async function* pages<T>(fetch: (startIndex: number) => Promise<FsList<T>>): AsyncGenerator<T> {
  let start = 1;
  for (let n = 0; n < PAGE_LIMIT; n++) {
    const page = await fetch(start);
    const items = page.Resources ?? [];
    yield* items;
    start += items.length;
    if (items.length === 0 || start > page.totalResults) return;
  }
}
const literal = (s: string) => JSON.stringify(s);

/** FullStory's SCIM resources, one method per call the bridge makes. */
export class FullStoryApi {
  /**
   * @param observeUser sees every user FullStory returns: how FullStory shows roles is
   * evidence of how it carries them.
   */
  constructor(
    readonly client: ScimCaller,
    private readonly observeUser: (fs: FsUser | undefined) => void = () => {},
    /** Bridge ids that differ from FullStory's (made in shadow mode), translated both ways here. */
    readonly links: IdLinks = new IdLinks(),
  ) {}

  /** A user as the bridge knows it: under the bridge's id. */
  private seen<T extends FsUser | undefined>(fs: T): T {
    this.observeUser(fs);
    if (fs && typeof fs.id === 'string') fs.id = this.links.bridgeOf(fs.id);
    return fs;
  }

  private path(id: string): string {
    return `/Users/${q(this.links.upstreamOf(id))}`;
  }

  private group(g: FsGroup): FsGroup {
    return g.members ? { ...g, members: g.members.map((m) => ({ ...m, value: this.links.bridgeOf(m.value) })) } : g;
  }

  async getUser(id: string, priority: Priority = 'idp'): Promise<FsUser> {
    return this.seen((await this.client.call<FsUser>('GET', this.path(id), { operation: 'users.get', idempotent: true, priority })).body);
  }

  async listUsers(startIndex: number, count: number, filter?: string, priority: Priority = 'idp'): Promise<FsList<FsUser>> {
    const f = filter ? `&filter=${q(filter)}` : '';
    const op = filter ? 'users.filter' : 'users.list';
    const body = (
      await this.client.call<FsList<FsUser>>('GET', `/Users?startIndex=${startIndex}&count=${count}${f}`, { operation: op, idempotent: true, priority })
    ).body;
    // Every user: besides how roles are shown, a role outside the five is remembered per user.
    for (const u of body.Resources ?? []) this.seen(u);
    return body;
  }

  /**
   * A page of `count` users from `startIndex`, in as many calls as FullStory's largest
   * page needs: the IdP sees the page it asked for, none skipped or repeated.
   */
  async listUsersFilled(startIndex: number, count: number, priority: Priority = 'idp'): Promise<{ totalResults: number; Resources: FsUser[] }> {
    const out: FsUser[] = [];
    let total = 0;
    for (let n = 0; n < PAGE_LIMIT; n++) {
      const page = await this.listUsers(startIndex + out.length, Math.max(1, count - out.length), undefined, priority);
      const items = page.Resources ?? [];
      total = page.totalResults;
      out.push(...items.slice(0, count - out.length));
      if (items.length === 0 || out.length >= count || startIndex + out.length > total) break;
    }
    return { totalResults: total, Resources: out };
  }

  async findUserByUserName(userName: string, priority: Priority = 'idp'): Promise<FsUser | undefined> {
    const list = await this.listUsers(1, 1, `userName eq ${literal(userName)}`, priority);
    return list.Resources?.[0];
  }

  async createUser(body: Record<string, unknown>): Promise<FsUser> {
    return this.seen((await this.client.call<FsUser>('POST', '/Users', { body: { schemas: [USER], ...body }, operation: 'users.create' })).body);
  }

  async replaceUser(id: string, body: Record<string, unknown>, priority: Priority = 'idp'): Promise<FsUser> {
    return this.seen(
      (
        await this.client.call<FsUser>('PUT', this.path(id), {
          body: { schemas: [USER], ...body, id: this.links.upstreamOf(id) },
          operation: 'users.replace',
          idempotent: true,
          priority,
        })
      ).body,
    );
  }

  /** Only replace/remove operations are sent, so a repeat is harmless. */
  async patchUser(id: string, ops: FsPatchOp[], priority: Priority = 'idp'): Promise<FsUser | undefined> {
    const res = await this.client.call<FsUser>('PATCH', this.path(id), {
      body: { schemas: [PATCH_OP], Operations: ops },
      operation: 'users.patch',
      idempotent: ops.every((o) => o.op !== 'add'),
      priority,
    });
    return res.status === 204 ? undefined : this.seen(res.body);
  }

  async deleteUser(id: string): Promise<void> {
    await this.client.call('DELETE', this.path(id), { operation: 'users.delete', idempotent: true });
  }

  /** A group by name: filtered where FullStory filters /Groups, else found by listing them all (#13). */
  async findGroup(displayName: string, opts: { filters: boolean }, priority: Priority = 'sync'): Promise<FsGroup | undefined> {
    const wanted = displayName.toLowerCase();
    if (opts.filters) {
      const path = `/Groups?filter=${q(`displayName eq ${literal(displayName)}`)}`;
      const body = (await this.client.call<FsList<FsGroup>>('GET', path, { operation: 'groups.filter', idempotent: true, priority })).body;
      const found = body.Resources?.find((g) => g.displayName?.toLowerCase() === wanted);
      return found && this.group(found);
    }
    for await (const g of this.groups(priority)) if (g.displayName?.toLowerCase() === wanted) return g;
    return undefined;
  }

  /** Every group FullStory holds, paged at whatever size it serves. */
  groups(priority: Priority = 'sync'): AsyncGenerator<FsGroup> {
    return pages((start) =>
      this.client
        .call<FsList<FsGroup>>('GET', `/Groups?startIndex=${start}&count=100`, { operation: 'groups.list', idempotent: true, priority })
        .then((r) => ({ ...r.body, Resources: (r.body.Resources ?? []).map((g) => this.group(g)) })),
    );
  }

  async getGroup(id: string, priority: Priority = 'sync'): Promise<FsGroup> {
    return this.group((await this.client.call<FsGroup>('GET', `/Groups/${q(id)}`, { operation: 'groups.get', idempotent: true, priority })).body);
  }

  async createGroup(displayName: string, priority: Priority = 'sync'): Promise<FsGroup> {
    return (await this.client.call<FsGroup>('POST', '/Groups', { body: { schemas: [GROUP], displayName, members: [] }, operation: 'groups.create', priority }))
      .body;
  }

  async replaceGroup(group: FsGroup, priority: Priority = 'sync'): Promise<FsGroup> {
    const members = (group.members ?? []).map((m) => ({ ...m, value: this.links.upstreamOf(m.value) }));
    return this.group(
      (
        await this.client.call<FsGroup>('PUT', `/Groups/${q(group.id)}`, {
          body: { schemas: [GROUP], id: group.id, displayName: group.displayName, members },
          operation: 'groups.replace',
          idempotent: true,
          priority,
        })
      ).body,
    );
  }
}
