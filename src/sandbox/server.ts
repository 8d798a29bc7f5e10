import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { makeContext, SANDBOX_BASE_PATH } from './context.js';
import { Counters, TokenBucket } from './counters.js';
import { registerDiscovery, registerWindow } from './discovery-routes.js';
import { registerEdge } from './edge.js';
import { registerGroups } from './groups-routes.js';
import { makeProfile, type ProfileName, type ProfilePatch, type SandboxProfile } from './profile.js';
import { SandboxState } from './state.js';
import { registerUsers } from './users-routes.js';

export { Counters } from './counters.js';
export { SANDBOX_BASE_PATH } from './context.js';

export interface SandboxOptions {
  profile?: ProfileName | SandboxProfile;
  patch?: ProfilePatch;
  token?: string;
  logger?: boolean;
}

export interface Sandbox {
  app: FastifyInstance;
  state: SandboxState;
  counters: Counters;
  profile: SandboxProfile;
  token: string;
  /** Changes switches while running (tests); the rate bucket is rebuilt. */
  set(patch: ProfilePatch): void;
  /** "Generate Authorization Token": the old one stops working at once (#1). */
  rotateToken(): string;
  /** The role FullStory holds for each user, by userName (lower case). */
  roles(): Map<string, string>;
}

const bucketFor = (p: SandboxProfile) => (p.rateLimit ? new TokenBucket(p.rateLimit.perSecond, p.rateLimit.burst) : null);

/** Builds the FullStory SCIM simulator as a Fastify app (not yet listening). */
export function buildSandbox(opts: SandboxOptions = {}): Sandbox {
  let profile = makeProfile(opts.profile ?? 'default', opts.patch);
  const state = new SandboxState(() => profile);
  const counters = new Counters();
  let bucket = bucketFor(profile);
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 64 * 1024 * 1024 });
  const sandbox: Sandbox = {
    app,
    state,
    counters,
    get profile() {
      return profile;
    },
    token: opts.token ?? `fs-sandbox-${randomBytes(16).toString('hex')}`,
    set(patch) {
      profile = makeProfile(profile, patch);
      bucket = bucketFor(profile);
      state.ensureRoleGroups();
    },
    rotateToken() {
      sandbox.token = `fs-sandbox-${randomBytes(16).toString('hex')}`;
      return sandbox.token;
    },
    roles() {
      return new Map([...state.allRoles()].map(([u, role]) => [u.userName.toLowerCase(), role]));
    },
  };
  const ctx = makeContext({ app, state, counters, profile: () => profile, token: () => sandbox.token, bucket: () => bucket });
  registerEdge(ctx);
  registerUsers(ctx);
  registerGroups(ctx);
  registerDiscovery(ctx);
  registerWindow(ctx, sandbox);
  return sandbox;
}

export interface RunningSandbox extends Sandbox {
  url: string;
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions & { port?: number; host?: string } = {}): Promise<RunningSandbox> {
  const sandbox = buildSandbox(opts);
  const address = await sandbox.app.listen({ port: opts.port ?? 0, host: opts.host ?? '127.0.0.1' });
  return Object.assign(sandbox, {
    url: `${address.replace('[::1]', '127.0.0.1')}${SANDBOX_BASE_PATH}`,
    close: () => sandbox.app.close(),
  });
}
