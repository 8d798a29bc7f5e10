import { SCHEMA } from './constants.js';
import { badRequest } from './errors.js';
import { assertSafeName } from './safe-names.js';
import { isObject, toBoolean, type Json } from './values.js';

export type PatchVerb = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchVerb;
  path?: string;
  value?: Json;
}

export const MAX_PATCH_OPERATIONS = 1000;

/**
 * Reads a PatchOp envelope in any IdP's dialect: Entra's capitalised ops ("Replace"),
 * missing `schemas` (both IdPs' docs show it absent at times), an op without a value.
 * Anything else malformed is 400 invalidSyntax, before anything is applied.
 */
export function parsePatchBody(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object', 'invalidSyntax');
  const schemas = body.schemas;
  if (schemas !== undefined) {
    if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA.patchOp.toLowerCase())) {
      throw badRequest(`"schemas" must include ${SCHEMA.patchOp}`, 'invalidSyntax');
    }
  }
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = opsKey ? body[opsKey] : undefined;
  if (!Array.isArray(ops) || ops.length === 0) throw badRequest('"Operations" must be a non-empty array', 'invalidSyntax');
  if (ops.length > MAX_PATCH_OPERATIONS) throw badRequest(`More than ${MAX_PATCH_OPERATIONS} operations in one PATCH`, 'tooMany');
  return ops.map((raw, i) => {
    if (!isObject(raw)) throw badRequest(`Operations[${i}] must be an object`, 'invalidSyntax');
    const fields = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
    const op = typeof fields.op === 'string' ? fields.op.toLowerCase() : undefined;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw badRequest(`Operations[${i}].op must be add, replace or remove`, 'invalidSyntax');
    }
    const path = fields.path;
    if (path !== undefined && path !== null && (typeof path !== 'string' || path.trim() === '')) {
      throw badRequest(`Operations[${i}].path must be a non-empty string`, 'invalidPath');
    }
    if (typeof path === 'string') assertSafeName(path, `Operations[${i}].path`, 'invalidPath');
    const out: PatchOperation = { op };
    if (typeof path === 'string') out.path = path.trim();
    const hasValue = Object.hasOwn(fields, 'value');
    if (hasValue) out.value = fields.value as Json;
    if (op !== 'remove' && !hasValue) throw badRequest(`Operations[${i}] (${op}) needs a "value"`, 'invalidValue');
    if (op === 'remove' && out.path === undefined) throw badRequest(`Operations[${i}] (remove) needs a "path"`, 'noTarget');
    return out;
  });
}

/** Splits `attr[filter].sub` (no URN prefix) into its parts. */
export interface ParsedPath {
  attr: string;
  filter?: string;
  sub?: string;
}

export function splitPath(path: string): ParsedPath {
  const m = /^([A-Za-z$][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z$][\w$-]*))?$/.exec(path);
  if (!m) throw badRequest(`"${path.slice(0, 80)}" is not a valid attribute path`, 'invalidPath');
  return { attr: m[1]!, ...(m[2] !== undefined ? { filter: m[2] } : {}), ...(m[3] !== undefined ? { sub: m[3] } : {}) };
}

/** Entra writes `primary eq "True"` inside filters; the stored value is a boolean. */
export function normaliseFilterBooleans(filter: string): string {
  return filter.replace(/\b(primary)\s+eq\s+"(true|false)"/gi, (_m, attr: string, b: string) => `${attr} eq ${b.toLowerCase()}`);
}

export function asBoolean(value: Json, where: string): boolean {
  const b = toBoolean(value);
  if (b === undefined) throw badRequest(`"${where}" must be a boolean`);
  return b;
}
