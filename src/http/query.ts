import type { FastifyRequest } from 'fastify';
import { MAX_PAGE } from '../scim/constants.js';
import type { ListQuery } from '../provisioning/users-service.js';

export interface ScimQuery {
  filter?: string;
  startIndex?: string;
  count?: string;
  attributes?: string;
  excludedAttributes?: string;
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

/** Pagination per RFC 7644 §3.4.2.4: startIndex below 1 is 1; count is capped, not rejected. */
export function listQuery(q: ScimQuery): ListQuery {
  return {
    filter: q.filter,
    startIndex: Math.max(1, int(q.startIndex, 1)),
    count: Math.min(MAX_PAGE, Math.max(0, int(q.count, MAX_PAGE))),
  };
}
