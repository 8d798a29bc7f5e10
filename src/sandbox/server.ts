import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { makeProfile, type ProfileName, type ProfilePatch, type SandboxProfile } from './profile.js';
import { SandboxState, SbError } from './state.js';

export const SANDBOX_BASE_PATH = '/scim/v2';

/** What reached "FullStory": one count per method, route and status. */
export class Counters {
  private readonly counts = new Map<string, number>();
  /** Arrival times (ms) of authenticated SCIM requests, for rate checks; the latest 200,000. */
  private arrivals: number[] = [];

  arrived(atMs: number): void {
    if (this.arrivals.length >= 200_000) this.arrivals = this.arrivals.slice(100_000);
    this.arrivals.push(atMs);
  }

  arrivalTimes(): readonly number[] {
    return this.arrivals;
  }

  /** The most requests that arrived within any window of `ms` (sliding). */
  busiestWindow(ms: number): number {
    let best = 0;
    let lo = 0;
    for (let hi = 0; hi < this.arrivals.length; hi++) {
      while (this.arrivals[hi]! - this.arrivals[lo]! >= ms) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return best;
  }

  record(method: string, route: string, status: number): void {
    const key = `${method} ${route} ${status}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Requests matching every given field; route is the pattern, e.g. "/Users/:id". */
  count(match: { method?: string; route?: string; status?: number | ((s: number) => boolean) } = {}): number {
    let n = 0;
    for (const [key, c] of this.counts) {
      const [method, route, status] = key.split(' ') as [string, string, string];
      if (match.method && match.method !== method) continue;
      if (match.route && match.route !== route) continue;
      const s = Number(status);
      if (typeof match.status === 'number' && match.status !== s) continue;
      if (typeof match.status === 'function' && !match.status(s)) continue;
      n += c;
    }
    return n;
  }

  /** Writes FullStory accepted: what changed its state. */
  writes(): number {
    return this.count({ method: 'POST', status: (s) => s < 300 }) + this.count({ method: 'PUT', status: (s) => s < 300 }) + this.count({ method: 'PATCH', status: (s) => s < 300 }) + this.count({ method: 'DELETE', status: (s) => s < 300 });
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
    this.arrivals = [];
  }
}

/** FullStory's limit: a bucket of `burst` requests refilling at `perSecond`. */
class TokenBucket {
  private tokens: number;
  private last = performance.now();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): { ok: boolean; retryAfterS: number; remaining: number } {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true, retryAfterS: 0, remaining: Math.floor(this.tokens) };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond)), remaining: 0 };
  }
}

const FULLSTORY_CODES: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'already_exists',
  415: 'unsupported_media_type',
  429: 'resource_exhausted',
  500: 'internal',
  502: 'bad_gateway',
  503: 'unavailable',
};

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds the FullStory SCIM simulator as a Fastify app (not yet listening). */
export function buildSandbox(opts: SandboxOptions = {}): Sandbox {
  let profile = makeProfile(opts.profile ?? 'default', opts.patch);
  const state = new SandboxState(() => profile);
  const counters = new Counters();
  let bucket = profile.rateLimit ? new TokenBucket(profile.rateLimit.perSecond, profile.rateLimit.burst) : null;
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
      bucket = profile.rateLimit ? new TokenBucket(profile.rateLimit.perSecond, profile.rateLimit.burst) : null;
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

  const send = (reply: FastifyReply, status: number, body?: unknown) => {
    reply.code(status).header('content-type', 'application/scim+json; charset=utf-8');
    return body === undefined ? reply.send() : reply.send(JSON.stringify(body));
  };
  const fail = (reply: FastifyReply, status: number, detail: string, scimType?: string) =>
    send(
      reply,
      status,
      profile.errorStyle === 'scim'
        ? { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), ...(scimType ? { scimType } : {}), detail }
        : { message: detail, code: FULLSTORY_CODES[status] ?? 'unknown' },
    );

  for (const type of ['application/scim+json', 'application/json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch {
        done(new SbError(400, 'Malformed JSON', 'invalidSyntax'));
      }
    });
  }
  app.removeContentTypeParser(['text/plain']);

  app.addHook('onResponse', async (req, reply) => {
    counters.record(req.method, (req.routeOptions.url ?? req.url).replace(SANDBOX_BASE_PATH, '') || '/', reply.statusCode);
  });

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof SbError) return fail(reply, err.status, err.detail, err.scimType);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status === 415) return fail(reply, 415, 'Content-Type must be application/scim+json or application/json');
    return fail(reply, status < 500 ? status : 500, status < 500 ? (err as Error).message : 'Internal error', status === 400 ? 'invalidSyntax' : undefined);
  });
  app.setNotFoundHandler((_req, reply) => fail(reply, 404, 'Not found'));

  const location = (req: FastifyRequest) => `http://${req.headers.host ?? 'localhost'}${SANDBOX_BASE_PATH}`;

  // Faults, auth, "SCIM enabled", then the rate limit: the order FullStory's edge would apply them.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith(SANDBOX_BASE_PATH)) return;
    const f = profile.faults;
    if (f.latencyMs > 0) await sleep(f.latencyMs);
    if (f.hangRate > 0 && Math.random() < f.hangRate) {
      await sleep(f.hangMs);
      req.raw.socket.destroy();
      return reply;
    }
    if (f.failRate > 0 && Math.random() < f.failRate) {
      const status = [500, 502, 503][Math.floor(Math.random() * 3)]!;
      return fail(reply, status, 'Upstream failure (sandbox fault)');
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${sandbox.token}`) return fail(reply, 401, 'Invalid or missing token');
    counters.arrived(performance.now());
    if (!profile.scimEnabled) {
      return profile.scimDisabledStatus === 401
        ? fail(reply, 401, 'Invalid or missing token')
        : fail(reply, 403, 'SCIM provisioning is not enabled for this account');
    }
    if (bucket) {
      const r = bucket.take();
      if (profile.rateLimit?.headers) {
        reply.header('x-ratelimit-limit', String(profile.rateLimit.perSecond));
        reply.header('x-ratelimit-remaining', String(r.remaining));
      }
      if (!r.ok) {
        reply.header('retry-after', String(r.retryAfterS));
        return fail(reply, 429, 'Too many requests');
      }
    }
  });

  /** After a write is applied, a reset fault drops the connection before the answer. */
  const maybeReset = (req: FastifyRequest, reply: FastifyReply): boolean => {
    if (profile.faults.resetRate > 0 && Math.random() < profile.faults.resetRate) {
      req.raw.socket.destroy();
      reply.hijack();
      return true;
    }
    return false;
  };

  const base = SANDBOX_BASE_PATH;
  const page = (q: Record<string, string | undefined>) => {
    const start = Math.max(1, Number.parseInt(q.startIndex ?? '1', 10) || 1);
    const raw = Number.parseInt(q.count ?? '100', 10);
    // #14, #22: a larger count is cut to the largest page.
    const count = Math.min(profile.maxPage, Math.max(0, Number.isNaN(raw) ? profile.maxPage : raw));
    return { start, count };
  };
  const list = (items: unknown[], total: number, start: number) => ({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: total,
    startIndex: start,
    itemsPerPage: items.length,
    Resources: items,
  });
  const parseFilter = (filter: string, allowed: string[]) => {
    const terms: { attr: string; value: string }[] = [];
    const re = /\s*([A-Za-z.]+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*(and\b|$)/iy;
    let m: RegExpExecArray | null;
    let last = 0;
    while ((m = re.exec(filter))) {
      const attr = m[1]!.toLowerCase();
      if (!allowed.includes(attr)) throw new SbError(400, `Unsupported filter attribute ${m[1]}`, 'invalidFilter');
      terms.push({ attr, value: JSON.parse(`"${m[2]}"`) as string });
      last = re.lastIndex;
      if (!m[3]) break;
    }
    if (terms.length === 0 || last !== filter.length) throw new SbError(400, 'Unsupported filter', 'invalidFilter');
    return terms;
  };

  app.get(`${base}/Users`, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const { start, count } = page(q);
    const all = q.filter
      ? state.findUsers(parseFilter(q.filter, profile.filters === 'standard' ? ['username', 'externalid', 'emails.value'] : ['username']))
      : [...state.users.values()];
    const slice = all.slice(start - 1, start - 1 + count);
    return send(reply, 200, list(slice.map((u) => state.render(u, location(req))), all.length, start));
  });
  app.get(`${base}/Users/:id`, async (req, reply) => send(reply, 200, state.render(state.mustGet((req.params as { id: string }).id), location(req))));
  app.post(`${base}/Users`, async (req, reply) => {
    const user = state.createUser((req.body ?? {}) as Record<string, unknown>);
    if (maybeReset(req, reply)) return reply;
    reply.header('location', `${location(req)}/Users/${user.id}`);
    return send(reply, 201, state.render(user, location(req)));
  });
  app.put(`${base}/Users/:id`, async (req, reply) => {
    const user = state.replaceUser((req.params as { id: string }).id, (req.body ?? {}) as Record<string, unknown>);
    if (maybeReset(req, reply)) return reply;
    return send(reply, 200, state.render(user, location(req)));
  });
  app.patch(`${base}/Users/:id`, async (req, reply) => {
    if (!profile.patchUsers) return fail(reply, 405, 'PATCH is not supported on Users');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = state.patchUser((req.params as { id: string }).id, body.Operations);
    if (maybeReset(req, reply)) return reply;
    return send(reply, 200, state.render(user, location(req)));
  });
  app.delete(`${base}/Users/:id`, async (req, reply) => {
    if (!profile.deleteUsers) return fail(reply, 405, 'DELETE is not supported on Users');
    state.deleteUser((req.params as { id: string }).id);
    if (maybeReset(req, reply)) return reply;
    return send(reply, 204);
  });

  const groupsOn = (reply: FastifyReply) => {
    if (profile.groups === 'none') {
      void fail(reply, 404, 'Not found');
      return false;
    }
    return true;
  };
  app.get(`${base}/Groups`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const { start, count } = page(q);
    let all = [...state.groups.values()];
    if (q.filter) {
      // #13: the strict column runs no filter at all on Groups.
      if (profile.filters !== 'standard') return fail(reply, 400, 'filters are not supported on groups', 'invalidFilter');
      const terms = parseFilter(q.filter, ['displayname']);
      all = all.filter((g) => terms.every((t) => g.displayName.toLowerCase() === t.value.toLowerCase()));
    }
    const slice = all.slice(start - 1, start - 1 + count);
    return send(reply, 200, list(slice.map((g) => state.renderGroup(g, location(req))), all.length, start));
  });
  app.get(`${base}/Groups/:id`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const g = state.groups.get((req.params as { id: string }).id);
    if (!g) return fail(reply, 404, 'Group not found');
    return send(reply, 200, state.renderGroup(g, location(req)));
  });
  app.post(`${base}/Groups`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const g = state.createGroup((req.body ?? {}) as Record<string, unknown>);
    if (maybeReset(req, reply)) return reply;
    return send(reply, 201, state.renderGroup(g, location(req)));
  });
  app.put(`${base}/Groups/:id`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const g = state.replaceGroup((req.params as { id: string }).id, (req.body ?? {}) as Record<string, unknown>);
    if (maybeReset(req, reply)) return reply;
    return send(reply, 200, state.renderGroup(g, location(req)));
  });
  for (const method of ['PATCH', 'DELETE'] as const) {
    app.route({
      method,
      url: `${base}/Groups/:id`,
      handler: async (_req, reply) => (groupsOn(reply) ? fail(reply, 405, `${method} is not supported on Groups`) : reply),
    });
  }

  const discovery = (reply: FastifyReply, body: () => unknown) => (profile.discovery ? send(reply, 200, body()) : fail(reply, 404, 'Not found'));
  app.get(`${base}/ServiceProviderConfig`, async (_req, reply) =>
    discovery(reply, () => ({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: profile.patchUsers },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: profile.maxPage },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'FullStory SCIM token', primary: true }],
      meta: { resourceType: 'ServiceProviderConfig' },
    })),
  );
  app.get(`${base}/ResourceTypes`, async (_req, reply) =>
    discovery(reply, () => {
      const types = [{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', endpoint: '/Users', schema: 'urn:ietf:params:scim:schemas:core:2.0:User' }];
      if (profile.groups !== 'none') types.push({ ...types[0]!, id: 'Group', name: 'Group', endpoint: '/Groups', schema: 'urn:ietf:params:scim:schemas:core:2.0:Group' });
      return list(types, types.length, 1);
    }),
  );
  app.get(`${base}/Schemas`, async (_req, reply) =>
    discovery(reply, () => list([{ id: 'urn:ietf:params:scim:schemas:core:2.0:User', name: 'User' }], 1, 1)),
  );

  // Not FullStory: a window for tests, benchmarks and outside checks into what FullStory holds.
  app.get('/_sandbox/counters', async () => counters.snapshot());
  app.get('/_sandbox/roles', async () => Object.fromEntries(sandbox.roles()));
  /** How many users hold each role: a cheap probe while waiting for a propagation (the listing is one entry per user). */
  app.get('/_sandbox/role-counts', async () => {
    const counts: Record<string, number> = {};
    for (const role of state.allRoles().values()) counts[role] = (counts[role] ?? 0) + 1;
    return counts;
  });
  /** Changes switches at run time (benchmarks, outside checks): a partial profile, e.g. {"rateLimit": null}. */
  app.post('/_sandbox/set', async (req, reply) => {
    const patch = req.body;
    if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return fail(reply, 400, 'Body must be a partial profile object');
    sandbox.set(patch as ProfilePatch);
    return profile;
  });
  app.post('/_sandbox/reset-counters', async () => {
    counters.reset();
    return { ok: true };
  });

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
