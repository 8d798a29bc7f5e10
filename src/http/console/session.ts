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
 * Console sessions: a cookie naming the ops token used, its expiry and the token's session
 * epoch, signed with a key derived from the configured ops token hashes. Every replica
 * derives the same key; rotating the ops tokens ends every session. Signing out bumps the
 * token's epoch in the store (shared by replicas), so the cookie stops working at once,
 * everywhere: every session opened with that ops token ends.
 */
export class ConsoleSessions {
  constructor(
    private readonly key: () => Buffer,
    /** The current epoch of an ops token's sessions, and a way to end them all. */
    private readonly epochs: { get(name: string): Promise<number>; bump(name: string): Promise<void> },
  ) {}

  async issue(name: string, now = Date.now()): Promise<string> {
    const body = `${name}.${now + SESSION_MS}.${await this.epochs.get(name)}`;
    return `${body}.${mac(this.key(), body)}`;
  }

  /** The ops token's name behind a valid, unexpired cookie of its current epoch. */
  async verify(cookie: string | undefined, now = Date.now()): Promise<string | undefined> {
    if (!cookie) return undefined;
    // Names are letters, digits, "_", "." and "-": the last three parts are the expiry, epoch and signature.
    const parts = cookie.split('.');
    if (parts.length < 4) return undefined;
    const [expiry, epoch, sig] = parts.slice(-3) as [string, string, string];
    const name = parts.slice(0, -3).join('.');
    if (!same(sig, mac(this.key(), `${name}.${expiry}.${epoch}`)) || Number(expiry) < now) return undefined;
    return String(await this.epochs.get(name)) === epoch ? name : undefined;
  }

  /** Ends every session of the ops token behind this cookie. */
  async end(name: string): Promise<void> {
    await this.epochs.bump(name);
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
