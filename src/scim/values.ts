import { badRequest } from './errors.js';

export const MAX_STRING_LENGTH = 2048;
export const MAX_DEPTH = 8;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Rejects what no store or IdP can round-trip: NUL (PostgreSQL text refuses it), lone
 * surrogates (they come back as U+FFFD, so the IdP would read a different value),
 * over-long strings and deep nesting. Runs over every value an IdP writes.
 */
export function assertSafeValue(value: unknown, where: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw badRequest(`"${where}" is nested deeper than ${MAX_DEPTH} levels`, 'invalidSyntax');
  if (typeof value === 'string') {
    if (value.length > MAX_STRING_LENGTH) throw badRequest(`"${where}" is longer than ${MAX_STRING_LENGTH} characters`);
    if (value.includes('\u0000')) throw badRequest(`"${where}" contains a NUL character`);
    if (!value.isWellFormed()) throw badRequest(`"${where}" contains an unpaired UTF-16 surrogate`);
    return;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw badRequest(`"${where}" is not a finite number`);
  if (Array.isArray(value)) {
    value.forEach((v, i) => assertSafeValue(v, `${where}[${i}]`, depth + 1));
    return;
  }
  if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      assertSafeValue(k, `${where}.${k.slice(0, 40)}`, depth + 1);
      assertSafeValue(v, `${where}.${k}`, depth + 1);
    }
  }
}

/** Entra sends booleans as "True"/"False". */
export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const v = value.toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
  }
  return undefined;
}

/** `null` means "not set" (Entra): drop nulls, recursively, so they are neither stored nor echoed. */
export function dropNulls<T extends Json>(value: T): T {
  if (Array.isArray(value)) return value.filter((v) => v !== null).map((v) => dropNulls(v)) as T;
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
    return out as T;
  }
  return value;
}
