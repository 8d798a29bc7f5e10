import type { FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../../lib/hash.js';
import { matchToken } from '../plugins/auth.js';
import { clientAddress } from '../plugins/edge.js';
import type { AppDeps } from '../types.js';
import { loginPage } from './page.js';
import { ConsoleSessions, COOKIE, cookieValue } from './session.js';

export const HTML = 'text/html; charset=utf-8';

/** A small urlencoded form reader: the console's forms have one or two short fields. */
export function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'string') return undefined;
  const v = new URLSearchParams(body).get(name);
  return v ?? undefined;
}

/** Headers on every console page: never framed (clickjacking), nothing sniffed or leaked, HTTPS kept once used. */
export function securityHeaders(req: FastifyRequest, reply: FastifyReply): void {
  reply.header(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  reply.header('x-frame-options', 'DENY');
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  if (req.protocol === 'https') reply.header('strict-transport-security', 'max-age=31536000');
}

export interface Operator {
  name: string;
  /** Set for a browser session (its form token is then required); unset for a bearer script. */
  cookie?: string;
}

/**
 * Who may use the console, and what a wrong guess costs: an ops token as a bearer or a
 * session cookie; a wrong token counts against the same per-address throttle as the SCIM
 * API's (shared by replicas), is measured and audited; an address past it waits.
 */
export class ConsoleGate {
  readonly sessions: ConsoleSessions;

  constructor(private readonly deps: AppDeps) {
    const tokens = deps.opsTokens;
    const epochKey = (name: string) => `console.epoch:${name}`;
    this.sessions = new ConsoleSessions(() => sha256(`console-session:${tokens.map((t) => `${t.name}:${t.sha256.toString('hex')}`).join(',')}`), {
      get: async (name) => Number((await deps.store.read((r) => r.kv.get(epochKey(name)))) ?? 0),
      bump: (name) => deps.store.transaction(async (tx) => tx.kv.set(epochKey(name), String(Number((await tx.kv.get(epochKey(name))) ?? 0) + 1))),
    });
  }

  get open(): boolean {
    return this.deps.opsTokens.length > 0;
  }

  /** The operator: a bearer ops token, or a session cookie of the token's current epoch. */
  async operator(req: FastifyRequest): Promise<Operator | undefined> {
    const bearer = matchToken(req.headers.authorization, this.deps.opsTokens);
    if (bearer) return { name: bearer };
    if (req.headers.authorization) return undefined;
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    const name = await this.sessions.verify(cookie);
    return name && cookie ? { name, cookie } : undefined;
  }

  /** The ops token's name behind a login form's token, if it is one. */
  login(token: string | undefined): string | undefined {
    return token ? matchToken(`Bearer ${token}`, this.deps.opsTokens) : undefined;
  }

  /** A wrong ops token: counted per address (shared by replicas), measured, audited. */
  async failed(req: FastifyRequest, how: string): Promise<void> {
    const address = clientAddress(req);
    this.deps.metrics.authFailure('console');
    await this.deps.authThrottle.fail(address).catch(() => undefined);
    this.deps.audit.refused({
      operation: 'console.login',
      address,
      userAgent: req.headers['user-agent'],
      method: req.method,
      status: 401,
      detail: `wrong ops token (${how})`,
    });
  }

  /** An address past the throttle is told to wait, whatever it sends; true when it was. */
  throttled(req: FastifyRequest, reply: FastifyReply): boolean {
    const wait = this.deps.authThrottle.retryAfter(clientAddress(req));
    if (wait === undefined) return false;
    this.deps.metrics.authFailure('throttled');
    void reply
      .code(429)
      .header('retry-after', String(wait))
      .type(HTML)
      .send(loginPage(`Too many wrong tokens from this address; try again in ${wait} s.`));
    return true;
  }

  /** A cookie session's POST carries its form token; a bearer script has no cookie to forge. */
  csrfOk(req: FastifyRequest, who: Operator): boolean {
    return !who.cookie || this.sessions.checkCsrf(who.cookie, formField(req.body, 'csrf'));
  }

  csrfFor(who: Operator): string {
    return who.cookie ? this.sessions.csrf(who.cookie) : '';
  }

  cookieFlags(req: FastifyRequest): string {
    return `Path=/console; HttpOnly; SameSite=Strict${req.protocol === 'https' ? '; Secure' : ''}`;
  }
}
