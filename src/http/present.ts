import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GroupView } from '../provisioning/groups-service.js';
import type { UserView } from '../provisioning/users-service.js';
import { SCHEMA, SCIM_CONTENT_TYPE } from '../scim/constants.js';
import { userSchemas } from '../scim/user.js';
import type { JsonObject } from '../scim/values.js';

export const BASE_PATH = '/scim/v2';

/** Answers with a SCIM document; a 201 also says where the new resource lives; a resource carries its version as an ETag. */
export function sendScim(reply: FastifyReply, body: JsonObject, status = 200, shown: JsonObject = body): FastifyReply {
  if (status === 201) reply.header('location', (body.meta as { location: string }).location);
  const version = (body.meta as { version?: unknown } | undefined)?.version;
  if (typeof version === 'string') reply.header('etag', version);
  return reply.code(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(shown));
}

/**
 * A resource, as asked for by `attributes`/`excludedAttributes` (on reads and writes
 * alike, RFC 7644 §3.9); Location and ETag come from the whole resource, so leaving
 * `meta` out of the body does not lose them.
 */
export function sendResource(
  reply: FastifyReply,
  body: JsonObject,
  q: { attributes?: string | undefined; excludedAttributes?: string | undefined },
  status = 200,
): FastifyReply {
  return sendScim(reply, body, status, project(body, q.attributes, q.excludedAttributes));
}

export function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.host || 'localhost'}${BASE_PATH}`;
}

export function renderUser(v: UserView, base: string): JsonObject {
  return {
    schemas: userSchemas(v.resource),
    id: v.id,
    ...v.resource,
    meta: { resourceType: 'User', created: v.created, lastModified: v.lastModified, location: `${base}/Users/${v.id}`, version: `W/"${v.version}"` },
  };
}

export function renderGroup(v: GroupView, base: string): JsonObject {
  return {
    schemas: [SCHEMA.group, ...Object.keys(v.extra)],
    id: v.id,
    displayName: v.displayName,
    ...(v.externalId !== null ? { externalId: v.externalId } : {}),
    ...(v.members
      ? {
          members: v.members.map((value) => ({
            value,
            ...(v.displays?.has(value) ? { display: v.displays.get(value) } : {}),
            $ref: `${base}/Users/${value}`,
            type: 'User',
          })),
        }
      : {}),
    ...v.extra,
    meta: { resourceType: 'Group', created: v.created, lastModified: v.lastModified, location: `${base}/Groups/${v.id}`, version: `W/"${v.version}"` },
  };
}

export function listResponse(resources: JsonObject[], total: number, startIndex: number): JsonObject {
  return { schemas: [SCHEMA.listResponse], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

const ALWAYS = new Set(['id', 'schemas']);

function splitList(v: string | undefined): string[] {
  return v
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/**
 * `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5), matched case-insensitively,
 * on top-level names, dotted sub-attributes and URN-qualified names; id and schemas stay.
 */
export function project(resource: JsonObject, attributes?: string, excluded?: string): JsonObject {
  const include = splitList(attributes).map((s) => s.toLowerCase());
  const exclude = splitList(excluded).map((s) => s.toLowerCase());
  if (include.length === 0 && exclude.length === 0) return resource;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(resource)) {
    const k = key.toLowerCase();
    if (ALWAYS.has(k)) {
      out[key] = value;
      continue;
    }
    if (include.length > 0) {
      if (include.includes(k)) out[key] = value;
      else {
        const subs = include.filter((p) => p.startsWith(`${k}.`) || p.startsWith(`${k}:`)).map((p) => p.slice(k.length + 1));
        if (subs.length > 0 && value && typeof value === 'object' && !Array.isArray(value)) {
          out[key] = Object.fromEntries(Object.entries(value).filter(([sk]) => subs.includes(sk.toLowerCase())));
        } else if (subs.length > 0 && Array.isArray(value)) {
          out[key] = value.map((item) =>
            item && typeof item === 'object' && !Array.isArray(item)
              ? Object.fromEntries(Object.entries(item).filter(([sk]) => subs.includes(sk.toLowerCase())))
              : item,
          );
        }
      }
      continue;
    }
    if (exclude.includes(k)) continue;
    const subs = exclude.filter((p) => p.startsWith(`${k}.`) || p.startsWith(`${k}:`)).map((p) => p.slice(k.length + 1));
    if (subs.length > 0 && value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).filter(([sk]) => !subs.includes(sk.toLowerCase())));
    } else out[key] = value;
  }
  return out;
}

/** Whether `attributes` names members or one of their sub-attributes, as `project` reads it. */
export function asksForMembers(attributes?: string): boolean {
  return splitList(attributes).some((a) => {
    const k = a.toLowerCase();
    return k === 'members' || k.startsWith('members.');
  });
}

/** Whether a projection keeps `members`, so that they need loading at all. */
export function wantsMembers(attributes?: string, excluded?: string): boolean {
  if (splitList(excluded).some((e) => e.toLowerCase() === 'members')) return false;
  return splitList(attributes).length === 0 || asksForMembers(attributes);
}
