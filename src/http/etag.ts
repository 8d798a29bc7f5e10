import type { FastifyRequest } from 'fastify';

/** A resource's version as a weak ETag (RFC 7644 §3.14): the same as its meta.version. */
export const etagOf = (version: number) => `W/"${version}"`;

/** The versions an If-Match or If-None-Match lists, or '*' for any; weak or strong tags alike. */
function listed(header: string | string[] | undefined): Set<string> | '*' | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (value.trim() === '*') return '*';
  return new Set(value.split(',').map((t) => t.trim().replace(/^W\//i, '').replace(/^"|"$/g, '')));
}

/**
 * The request's If-Match as a check on the version the service reads (undefined: no
 * condition). A change against another version must change nothing: the service calls
 * this before it writes, and answers 412 on false.
 */
export function ifMatch(req: FastifyRequest): ((version: number) => boolean) | undefined {
  const tags = listed(req.headers['if-match']);
  if (tags === undefined) return undefined;
  return (version) => tags === '*' || tags.has(String(version));
}

/** If-None-Match on a GET: true when the client already holds this version (answer 304). */
export function notModified(req: FastifyRequest, version: number): boolean {
  const tags = listed(req.headers['if-none-match']);
  return tags !== undefined && (tags === '*' || tags.has(String(version)));
}
