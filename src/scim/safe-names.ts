import { badRequest, type ScimType } from './errors.js';
import { isObject } from './values.js';

/**
 * Names that reach JavaScript's object machinery instead of data: a key or path segment
 * spelled so could set a property on a shared prototype (scim-patch splits keys on ".",
 * `a[k] = v` with k "__proto__" replaces a prototype). No SCIM attribute has these names,
 * so they are refused wherever input names an attribute, in any case.
 */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** String literals (a filter's values) are data, not names: `value eq "constructor@x.com"` is fine. */
const LITERAL = /"(?:[^"\\]|\\.)*"/g;
const SEGMENT_SEPARATOR = /[^A-Za-z0-9_$]+/;

/** The forbidden segment a name, path or filter holds (split on every separator), if any. */
export function forbiddenSegment(name: string): string | undefined {
  for (const segment of name.replace(LITERAL, '""').split(SEGMENT_SEPARATOR)) {
    if (FORBIDDEN.has(segment.toLowerCase())) return segment;
  }
  return undefined;
}

/** 400 with `scimType` when a name, path or filter holds a forbidden segment. */
export function assertSafeName(name: string, where: string, scimType: ScimType): void {
  const bad = forbiddenSegment(name);
  if (bad !== undefined) throw badRequest(`${where} names "${bad.slice(0, 20)}", which is not an attribute`, scimType);
}

/** Cheap first look at a JSON text: only one that may spell a forbidden name (or escape one) is walked. */
const MAYBE = /proto|constructor|\\u/i;

/** The first key, at any depth of a parsed JSON value, that holds a forbidden segment. */
export function forbiddenKey(text: string, value: unknown): string | undefined {
  return MAYBE.test(text) ? walk(value, 0) : undefined;
}

function walk(value: unknown, depth: number): string | undefined {
  if (depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = walk(item, depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isObject(value)) return undefined;
  for (const key of Object.keys(value)) {
    if (forbiddenSegment(key) !== undefined) return key;
    const found = walk(value[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
