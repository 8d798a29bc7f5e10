import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Counters, TokenBucket } from './counters.js';
import type { SandboxProfile } from './profile.js';
import type { SandboxState } from './state.js';
import { SbError } from './types.js';

export const SANDBOX_BASE_PATH = '/scim/v2';

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

/** What every part of the sandbox's HTTP face shares: its state, its switches, and how it answers. */
export interface SandboxContext {
  app: FastifyInstance;
  state: SandboxState;
  counters: Counters;
  profile(): SandboxProfile;
  token(): string;
  bucket(): TokenBucket | null;
  send(reply: FastifyReply, status: number, body?: unknown): FastifyReply;
  /** An error in the profile's style (#3). */
  fail(reply: FastifyReply, status: number, detail: string, scimType?: string): FastifyReply;
  location(req: FastifyRequest): string;
  /** After a write is applied, a reset fault drops the connection before the answer (true: answered already). */
  maybeReset(req: FastifyRequest, reply: FastifyReply): boolean;
  page(q: Record<string, string | undefined>): { start: number; count: number };
  list(items: unknown[], total: number, start: number): Record<string, unknown>;
  parseFilter(filter: string, allowed: string[]): { attr: string; value: string }[];
}

export function makeContext(parts: Pick<SandboxContext, 'app' | 'state' | 'counters' | 'profile' | 'token' | 'bucket'>): SandboxContext {
  const profile = parts.profile;
  const send = (reply: FastifyReply, status: number, body?: unknown) => {
    reply.code(status).header('content-type', 'application/scim+json; charset=utf-8');
    return body === undefined ? reply.send() : reply.send(JSON.stringify(body));
  };
  return {
    ...parts,
    send,
    fail: (reply, status, detail, scimType) =>
      send(
        reply,
        status,
        profile().errorStyle === 'scim'
          ? { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), ...(scimType ? { scimType } : {}), detail }
          : { message: detail, code: FULLSTORY_CODES[status] ?? 'unknown' },
      ),
    location: (req) => `http://${req.headers.host ?? 'localhost'}${SANDBOX_BASE_PATH}`,
    maybeReset: (req, reply) => {
      const { resetRate } = profile().faults;
      if (resetRate > 0 && Math.random() < resetRate) {
        req.raw.socket.destroy();
        reply.hijack();
        return true;
      }
      return false;
    },
    page: (q) => {
      const start = Math.max(1, Number.parseInt(q.startIndex ?? '1', 10) || 1);
      const raw = Number.parseInt(q.count ?? '100', 10);
      const max = profile().maxPage;
      // #14, #22: a larger count is cut to the largest page.
      return { start, count: Math.min(max, Math.max(0, Number.isNaN(raw) ? max : raw)) };
    },
    list: (items, total, start) => ({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: total,
      startIndex: start,
      itemsPerPage: items.length,
      Resources: items,
    }),
    parseFilter,
  };
}

/** `attr eq "value"` terms joined by `and`, on the attributes allowed: what FullStory is assumed to run (#13). */
function parseFilter(filter: string, allowed: string[]): { attr: string; value: string }[] {
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
}
