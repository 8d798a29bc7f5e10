import type { Priority } from './budget.js';
import type { FullStoryClient } from './client.js';

/** A user as FullStory returns it. */
export interface FsUser {
  id: string;
  userName: string;
  active?: boolean;
  externalId?: string;
  displayName?: string;
  name?: Record<string, unknown>;
  emails?: Record<string, unknown>[];
  roles?: { value: string }[];
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
const literal = (s: string) => JSON.stringify(s);

/** FullStory's SCIM resources, one method per call the bridge makes. */
export class FullStoryApi {
  constructor(readonly client: FullStoryClient) {}

  async getUser(id: string, priority: Priority = 'idp'): Promise<FsUser> {
    return (await this.client.call<FsUser>('GET', `/Users/${q(id)}`, { operation: 'users.get', idempotent: true, priority })).body;
  }

  async listUsers(startIndex: number, count: number, filter?: string, priority: Priority = 'idp'): Promise<FsList<FsUser>> {
    const f = filter ? `&filter=${q(filter)}` : '';
    const op = filter ? 'users.filter' : 'users.list';
    return (await this.client.call<FsList<FsUser>>('GET', `/Users?startIndex=${startIndex}&count=${count}${f}`, { operation: op, idempotent: true, priority })).body;
  }

  async findUserByUserName(userName: string, priority: Priority = 'idp'): Promise<FsUser | undefined> {
    const list = await this.listUsers(1, 1, `userName eq ${literal(userName)}`, priority);
    return list.Resources?.[0];
  }

  async createUser(body: Record<string, unknown>): Promise<FsUser> {
    return (await this.client.call<FsUser>('POST', '/Users', { body: { schemas: [USER], ...body }, operation: 'users.create' })).body;
  }

  async replaceUser(id: string, body: Record<string, unknown>, priority: Priority = 'idp'): Promise<FsUser> {
    return (
      await this.client.call<FsUser>('PUT', `/Users/${q(id)}`, { body: { schemas: [USER], id, ...body }, operation: 'users.replace', idempotent: true, priority })
    ).body;
  }

  /** Only replace/remove operations are sent, so a repeat is harmless. */
  async patchUser(id: string, ops: FsPatchOp[], priority: Priority = 'idp'): Promise<FsUser | undefined> {
    const res = await this.client.call<FsUser>('PATCH', `/Users/${q(id)}`, {
      body: { schemas: [PATCH_OP], Operations: ops },
      operation: 'users.patch',
      idempotent: ops.every((o) => o.op !== 'add'),
      priority,
    });
    return res.status === 204 ? undefined : res.body;
  }

  async deleteUser(id: string): Promise<void> {
    await this.client.call('DELETE', `/Users/${q(id)}`, { operation: 'users.delete', idempotent: true });
  }

  async findGroup(displayName: string, priority: Priority = 'sync'): Promise<FsGroup | undefined> {
    const body = (
      await this.client.call<FsList<FsGroup>>('GET', `/Groups?filter=${q(`displayName eq ${literal(displayName)}`)}`, { operation: 'groups.filter', idempotent: true, priority })
    ).body;
    return body.Resources?.[0];
  }

  async getGroup(id: string, priority: Priority = 'sync'): Promise<FsGroup> {
    return (await this.client.call<FsGroup>('GET', `/Groups/${q(id)}`, { operation: 'groups.get', idempotent: true, priority })).body;
  }

  async createGroup(displayName: string, priority: Priority = 'sync'): Promise<FsGroup> {
    return (await this.client.call<FsGroup>('POST', '/Groups', { body: { schemas: [GROUP], displayName, members: [] }, operation: 'groups.create', priority })).body;
  }

  async replaceGroup(group: FsGroup, priority: Priority = 'sync'): Promise<FsGroup> {
    return (
      await this.client.call<FsGroup>('PUT', `/Groups/${q(group.id)}`, {
        body: { schemas: [GROUP], id: group.id, displayName: group.displayName, members: group.members ?? [] },
        operation: 'groups.replace',
        idempotent: true,
        priority,
      })
    ).body;
  }
}
