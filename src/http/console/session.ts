import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a console login lasts. */
export const SESSION_MS = 8 * 60 * 60 * 1000;
export const COOKIE = 'fsb_console';

const mac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest('base64url');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Console sessions without server state: a cookie naming the ops token used and its
 * expiry, signed with a key derived from the configured ops token hashes. Every
 * replica derives the same key; rotating the ops tokens ends every session.
 */
export class ConsoleSessions {
  constructor(private readonly key: () => Buffer) {}

  issue(name: string, now = Date.now()): string {
    const body = `${name}.${now + SESSION_MS}`;
    return `${body}.${mac(this.key(), body)}`;
  }

  /** The ops token's name behind a valid, unexpired cookie. */
  verify(cookie: string | undefined, now = Date.now()): string | undefined {
    if (!cookie) return undefined;
    const parts = cookie.split('.');
    if (parts.length !== 3) return undefined;
    const [name, expiry, sig] = parts as [string, string, string];
    if (!same(sig, mac(this.key(), `${name}.${expiry}`)) || Number(expiry) < now) return undefined;
    return name;
  }

  /** The form token of a session: a POST without it (another site's form) changes nothing. */
  csrf(cookie: string): string {
    return mac(this.key(), `csrf:${cookie}`);
  }

  checkCsrf(cookie: string | undefined, token: unknown): boolean {
    return typeof cookie === 'string' && typeof token === 'string' && same(token, this.csrf(cookie));
  }
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
