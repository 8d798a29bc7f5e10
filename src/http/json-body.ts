import type { FastifyRequest } from 'fastify';
import { ScimError } from '../scim/errors.js';
import { forbiddenKey } from '../scim/safe-names.js';
import { jsonDepthExceeds } from './json-depth.js';

/** Deeper than any SCIM resource needs (a user is 4 levels, a PatchOp 5). */
export const MAX_JSON_DEPTH = 32;

/** Strict: a byte sequence that is not UTF-8 throws instead of turning into U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The declared charset of a JSON body. JSON is UTF-8 (RFC 8259 §8.1), so no charset
 * means UTF-8; a body declared as anything else is refused rather than read as UTF-8.
 */
function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * A SCIM request body: UTF-8 (declared or not), valid, at most MAX_JSON_DEPTH deep, and
 * without a key that names JavaScript's object machinery (`__proto__`, `constructor`,
 * `prototype`, in any dotted position). Anything else is a SCIM Error and nothing is applied.
 */
export function parseJsonBody(req: FastifyRequest, raw: Buffer): unknown {
  const charset = charsetOf(req.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new ScimError(415, `The request body must be UTF-8 (RFC 8259), not charset=${charset.slice(0, 40)}`);
  }
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    throw new ScimError(400, 'The request body is not valid UTF-8', 'invalidSyntax');
  }
  if (text === '') return undefined;
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw new ScimError(400, `The request body is nested deeper than ${MAX_JSON_DEPTH} levels`, 'invalidSyntax');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ScimError(400, 'The request body is not valid JSON', 'invalidSyntax');
  }
  const bad = forbiddenKey(text, body);
  if (bad !== undefined) throw new ScimError(400, `The request body has a key "${bad.slice(0, 40)}", which no SCIM attribute is`, 'invalidValue');
  return body;
}
