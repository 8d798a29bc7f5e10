import type { FastifyRequest } from 'fastify';
import { MAX_PAGE, SCHEMA } from '../scim/constants.js';
import { badRequest } from '../scim/errors.js';
import { assertSafeName, forbiddenSegment } from '../scim/safe-names.js';
import { isObject } from '../scim/values.js';
import type { ListQuery } from '../provisioning/users-service.js';

export interface ScimQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
  sortBy?: string;
  sortOrder?: string;
}

/** Beyond any org's size; a larger startIndex (1e20, 1e308) reads an empty page, not past a database's integer. */
export const MAX_START_INDEX = 2_147_483_647;

/** Any spelling of a number (huge, fractional, exponent, negative) as a bounded integer. */
function int(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? Math.min(max, Math.trunc(n)) : n === Infinity ? max : fallback;
}

/** attributes, excludedAttributes and sortBy name attributes: never JavaScript's object machinery. */
function checkNames(q: ScimQuery): ScimQuery {
  for (const key of ['attributes', 'excludedAttributes', 'sortBy'] as const) {
    const v = q[key];
    if (v !== undefined) assertSafeName(v, key, 'invalidPath');
  }
  return q;
}

/** Lower-cased query name -> ours. A Map: `?constructor=` must not find Object's. */
const NAMES = new Map<string, keyof ScimQuery>([
  ['filter', 'filter'],
  ['startindex', 'startIndex'],
  ['count', 'count'],
  ['attributes', 'attributes'],
  ['excludedattributes', 'excludedAttributes'],
  ['sortby', 'sortBy'],
  ['sortorder', 'sortOrder'],
]);

/** Query names are matched case-insensitively; unknown ones (Entra's ?aadOptscim062020) are ignored. */
export function scimQuery(req: FastifyRequest): ScimQuery {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    if (forbiddenSegment(k) !== undefined) throw badRequest(`The query names "${k.slice(0, 40)}", which is no SCIM parameter`, 'invalidValue');
    const name = NAMES.get(k.toLowerCase());
    if (name) out[name] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return checkNames(out);
}

/** Pagination per RFC 7644 §3.4.2.4: startIndex below 1 is 1; count is capped, not rejected. Sorting per §3.4.2.3. */
export function listQuery(q: ScimQuery): ListQuery {
  const order = q.sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') throw badRequest('sortOrder is "ascending" or "descending"', 'invalidValue');
  return {
    filter: q.filter,
    startIndex: Math.max(1, int(q.startIndex, 1, MAX_START_INDEX)),
    count: Math.max(0, int(q.count, MAX_PAGE, MAX_PAGE)),
    ...(q.sortBy ? { sortBy: q.sortBy, descending: order === 'descending' } : {}),
  };
}

/**
 * A SearchRequest body (RFC 7644 §3.4.3) as the query a GET would carry: the same
 * names, matched case-insensitively; `attributes` as a list or a comma-separated string.
 */
export function searchQuery(body: unknown): ScimQuery {
  if (!isObject(body)) throw badRequest('The request body must be a SearchRequest object', 'invalidSyntax');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA.searchRequest.toLowerCase())) {
    throw badRequest(`"schemas" must include ${SCHEMA.searchRequest}`, 'invalidSyntax');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) {
    const name = NAMES.get(k.toLowerCase());
    if (!name || v === null || v === undefined) continue;
    if (Array.isArray(v)) out[name] = v.map(String).join(',');
    else if (typeof v === 'string' || typeof v === 'number') out[name] = String(v);
    else throw badRequest(`"${k}" must be a string${name.endsWith('ttributes') ? ' or a list of strings' : ''}`, 'invalidValue');
  }
  return checkNames(out);
}
