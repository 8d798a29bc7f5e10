import { randomUUID } from 'node:crypto';
import { FullStoryApi, type FsGroup, type FsPatchOp, type FsUser } from './api.js';
import type { ScimCaller } from './client.js';
import { UpstreamError } from './errors.js';
import type { IdLinks } from './links.js';

/** What the index holds of a user, as FullStory would show it had the bridge written it. */
export interface DesiredUser {
  id: string;
  upstream: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/**
 * FullStory in shadow mode: reads go to FullStory, writes go nowhere. Each write answers
 * as FullStory would have (a new id for a create, 409 for a userName FullStory already
 * holds, the user as written for a PUT, 204 for a PATCH), so the IdP is answered as a
 * live bridge would answer it, and the index records what the IdP wants. A user the
 * index holds is read from the index: FullStory does not have the IdP's changes yet.
 */
export class ShadowApi extends FullStoryApi {
  constructor(
    client: ScimCaller,
    observeUser: (fs: FsUser | undefined) => void,
    links: IdLinks,
    private readonly desired: (id: string) => Promise<DesiredUser | undefined>,
  ) {
    super(client, observeUser, links);
  }

  override async getUser(id: string, priority: Parameters<FullStoryApi['getUser']>[1] = 'idp'): Promise<FsUser> {
    const d = await this.desired(id);
    if (d) return { ...d.upstream, id, meta: { created: d.createdAt, lastModified: d.updatedAt } } as FsUser;
    return super.getUser(id, priority);
  }

  override async createUser(body: Record<string, unknown>): Promise<FsUser> {
    if (typeof body.userName === 'string' && (await this.findUserByUserName(body.userName))) {
      throw new UpstreamError(409, 'User already exists in the database.', 'http', 'uniqueness');
    }
    const now = new Date().toISOString();
    return { active: true, ...body, id: randomUUID(), meta: { created: now, lastModified: now } } as FsUser;
  }

  override async replaceUser(id: string, body: Record<string, unknown>): Promise<FsUser> {
    return { ...body, id, meta: { lastModified: new Date().toISOString() } } as FsUser;
  }

  /** As a FullStory that answers 204: the IdP sees what the bridge applied. */
  override async patchUser(_id: string, _ops: FsPatchOp[]): Promise<FsUser | undefined> {
    return undefined;
  }

  override async deleteUser(_id: string): Promise<void> {}

  override async createGroup(): Promise<FsGroup> {
    throw new Error('shadow mode writes nothing to FullStory');
  }

  override async replaceGroup(): Promise<FsGroup> {
    throw new Error('shadow mode writes nothing to FullStory');
  }
}
