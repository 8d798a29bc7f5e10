import { randomBytes } from 'node:crypto';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import { sha256 } from './lib/hash.js';

/** A token as the bridge keeps it: its name and the SHA-256 of its value, never the value. */
export interface HashedToken {
  name: string;
  sha256: Buffer<ArrayBufferLike>;
}

/** The configured IdP tokens as (name, SHA-256) pairs. */
export function idpTokens(config: Config): HashedToken[] {
  const tokens: HashedToken[] = config.idp.tokens.map((t) => ({ name: t.name, sha256: Buffer.from(t.sha256, 'hex') }));
  if (config.idp.token) tokens.push({ name: 'IDP_TOKEN', sha256: sha256(config.idp.token) });
  return tokens;
}

/** The console's tokens: OPS_TOKENS hashes and OPS_TOKEN, never the IdP's. */
export function opsTokens(config: Config): HashedToken[] {
  const tokens: HashedToken[] = config.ops.tokens.map((t) => ({ name: t.name, sha256: Buffer.from(t.sha256, 'hex') }));
  if (config.ops.token) tokens.push({ name: 'OPS_TOKEN', sha256: sha256(config.ops.token) });
  return tokens;
}

/** The configured IdP tokens; in demo mode with none, one made up (its value for the banner). */
export function idpTokensOrDemo(config: Config, demo: boolean): { tokens: HashedToken[]; demoToken?: string } {
  const tokens = idpTokens(config);
  if (tokens.length > 0) return { tokens };
  if (!demo) throw new ConfigError('No IdP token is configured: set IDP_TOKENS (name:sha256hex,...) or IDP_TOKEN. `fullstory-scim-bridge token` makes one.');
  const demoToken = `demo-${randomBytes(24).toString('base64url')}`;
  return { tokens: [{ name: 'demo', sha256: sha256(demoToken) }], demoToken };
}

/** In place (the auth plugin reads these arrays on every request): the IdP and console tokens of a freshly loaded config. */
export function reloadTokens(idp: HashedToken[], ops: HashedToken[], next: Config): string[] {
  const fresh = idpTokens(next);
  if (fresh.length === 0) throw new ConfigError('The reloaded config has no IdP token; keeping the current ones.');
  idp.splice(0, idp.length, ...fresh);
  // The console's tokens too (a changed set also ends every console session).
  ops.splice(0, ops.length, ...opsTokens(next));
  return fresh.map((t) => t.name);
}
