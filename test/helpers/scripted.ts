import type { ScimCaller, UpstreamResponse } from '../../src/fullstory/client.js';
import { FullStoryApi } from '../../src/fullstory/api.js';
import { parseUpstreamError, UpstreamError } from '../../src/fullstory/errors.js';
import type { Capabilities } from '../../src/fullstory/preflight.js';
import { RoleChannel } from '../../src/fullstory/roles/channel.js';
import { loadConfig } from '../../src/config/load.js';
import { RolePolicy } from '../../src/provisioning/role-policy.js';
import { GroupsService } from '../../src/provisioning/groups-service.js';
import { UsersService } from '../../src/provisioning/users-service.js';
import { SANDBOX_BASE_PATH } from '../../src/sandbox/context.js';
import type { ProfilePatch } from '../../src/sandbox/profile.js';
import { buildSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { Store } from '../../src/store/store.js';

/**
 * A FullStory without sockets: the sandbox's app answered through Fastify's inject, behind
 * the one method FullStoryApi calls. Rules are tested on it with an in-memory store.
 */
export function scriptedFullStory(patch: ProfilePatch = {}): { sandbox: Sandbox; caller: ScimCaller } {
  const sandbox = buildSandbox({ patch: { rateLimit: null, ...patch } });
  const caller: ScimCaller = {
    async call<T>(method: string, path: string, options: { body?: unknown }): Promise<UpstreamResponse<T>> {
      const res = await sandbox.app.inject({
        method: method as 'GET',
        url: `${SANDBOX_BASE_PATH}${path}`,
        headers: { authorization: `Bearer ${sandbox.token}`, ...(options.body !== undefined ? { 'content-type': 'application/scim+json' } : {}) },
        ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
      });
      const body: unknown = res.body ? JSON.parse(res.body) : undefined;
      if (res.statusCode >= 400) {
        const { detail, scimType } = parseUpstreamError(res.statusCode, body);
        throw new UpstreamError(res.statusCode, detail, 'http', scimType);
      }
      return { status: res.statusCode, body: body as T };
    },
  } as ScimCaller;
  return { sandbox, caller };
}

/** What the default sandbox supports, as preflight would find it. */
export const DEFAULT_CAPS: Capabilities = {
  discovery: true,
  patchUsers: true,
  deleteUsers: true,
  groups: true,
  groupFilters: true,
  filters: new Set(['username', 'externalid', 'emails.value']),
  maxPage: 100,
  roleGroups: new Map(),
  usersRoles: { shown: 0, absent: 0 },
};

export interface Rules {
  sandbox: Sandbox;
  store: Store;
  users: UsersService;
  groups: GroupsService;
  /** How many times the services woke the worker. */
  kicks: () => number;
  close: () => Promise<void>;
}

/** UsersService and GroupsService on an in-memory SQLite store and a scripted FullStory: the rules alone. */
export async function rules(opts: { sandbox?: ProfilePatch; caps?: Partial<Capabilities>; roles?: Record<string, unknown> } = {}): Promise<Rules> {
  const { sandbox, caller } = scriptedFullStory(opts.sandbox);
  const store = await Store.open({ dataDir: ':memory:' });
  const config = loadConfig({}, { roles: opts.roles ?? {} });
  const policy = new RolePolicy(config.roles);
  const channel = new RoleChannel(config.roles.delivery);
  const api = new FullStoryApi(caller, (fs) => channel.observeUser(fs));
  const caps = { ...DEFAULT_CAPS, ...opts.caps };
  let kicks = 0;
  const kick = () => void kicks++;
  const users = new UsersService({ store, api, capabilities: () => caps, policy, roles: channel, kick, newUserRole: 'standard' });
  const groups = new GroupsService({ store, policy, kick });
  return { sandbox, store, users, groups, kicks: () => kicks, close: () => store.close() };
}
