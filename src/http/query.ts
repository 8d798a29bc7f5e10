import type { FastifyRequest } from 'fastify';
import { MAX_PAGE, SCHEMA } from '../scim/constants.js';
import { badRequest } from '../scim/errors.js';
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

function int(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
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
    const name = NAMES.get(k.toLowerCase());
    if (name) out[name] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return out;
}

/** Pagination per RFC 7644 §3.4.2.4: startIndex below 1 is 1; count is capped, not rejected. Sorting per §3.4.2.3. */
export function listQuery(q: ScimQuery): ListQuery {
  const order = q.sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') throw badRequest('sortOrder is "ascending" or "descending"', 'invalidValue');
  return {
    filter: q.filter,
    startIndex: Math.max(1, int(q.startIndex, 1)),
    count: Math.min(MAX_PAGE, Math.max(0, int(q.count, MAX_PAGE))),
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
  return out;
}
