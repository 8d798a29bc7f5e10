import type { FsUser } from '../fullstory/api.js';
import type { UserResource } from '../scim/user.js';
import { isTombstoneOf } from './entra-tombstone.js';
import { isObject, type Json, type JsonObject } from '../scim/values.js';

/** What FullStory keeps of a user; the rest lives only in the bridge's index. */
const UPSTREAM_ATTRS = ['userName', 'displayName', 'active', 'emails', 'externalId'] as const;

/** The body FullStory gets: only attributes it stores, plus `roles` (already in FullStory's form) where they travel there. */
export function toUpstream(resource: UserResource, roles?: unknown[]): JsonObject {
  const out: JsonObject = {};
  for (const attr of UPSTREAM_ATTRS) if (resource[attr] !== undefined) out[attr] = resource[attr]!;
  if (isObject(resource.name)) {
    const name: JsonObject = {};
    if (typeof resource.name.givenName === 'string') name.givenName = resource.name.givenName;
    if (typeof resource.name.familyName === 'string') name.familyName = resource.name.familyName;
    if (Object.keys(name).length > 0) out.name = name;
  }
  if (roles) out.roles = roles as Json[];
  return out;
}

/**
 * A PUT body for `after` where FullStory held `before`: what the IdP removed is sent as
 * null, since a FullStory whose PUT merges (spec #23) keeps an attribute that is absent.
 */
export function toUpstreamPut(after: UserResource, before: UserResource, roles?: unknown[]): JsonObject {
  const out = toUpstream(after, roles);
  for (const key of Object.keys(toUpstream(before))) if (!(key in out) && key !== 'userName' && key !== 'active') out[key] = null;
  out.active = isActive(after);
  return out;
}

/**
 * The bridge's reading of `active` (stated in /Schemas): absent means active, as FullStory
 * has no teammate without a status. A removed `active` stays absent in the IdP's view.
 */
export function isActive(resource: UserResource): boolean {
  return resource.active !== false;
}

/** Replace/remove operations that turn FullStory's copy of `before` into `after`. */
export function upstreamDiff(before: UserResource, after: UserResource): { op: 'replace' | 'remove'; path: string; value?: Json }[] {
  const a: JsonObject = { ...toUpstream(before), active: isActive(before) };
  const b: JsonObject = { ...toUpstream(after), active: isActive(after) };
  const ops: { op: 'replace' | 'remove'; path: string; value?: Json }[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) === JSON.stringify(b[key])) continue;
    ops.push(b[key] === undefined ? { op: 'remove', path: key } : { op: 'replace', path: key, value: b[key] });
  }
  return ops;
}

/**
 * The IdP's view of a user: what it wrote, with FullStory's word on the attributes
 * FullStory keeps (so a change made in FullStory shows), and never FullStory's roles
 * (the IdP's `roles` are its own business).
 */
export function mergeUpstream(resource: UserResource, fs: FsUser | undefined): UserResource {
  if (!fs) return resource;
  const out: JsonObject = { ...resource };
  for (const attr of ['userName', 'displayName'] as const) if (fs[attr] !== undefined) out[attr] = fs[attr] as Json;
  // Entra's soft-delete name is the bridge's alone (FullStory kept the original): the IdP reads back what it wrote.
  if (typeof fs.userName === 'string' && isTombstoneOf(resource.userName, fs.userName)) out.userName = resource.userName;
  // FullStory's status wins, but an active user the IdP wrote without `active` stays without it.
  if (typeof fs.active === 'boolean' && !(fs.active && resource.active === undefined)) out.active = fs.active;
  if (isObject(fs.name as Json)) {
    const name = { ...(isObject(resource.name) ? resource.name : {}) };
    for (const k of ['givenName', 'familyName']) if (typeof fs.name?.[k] === 'string') name[k] = fs.name[k] as string;
    out.name = name;
  }
  return out as UserResource;
}

/** A user FullStory holds that the bridge has not indexed yet, as the IdP would have written it. */
export function fromUpstream(fs: FsUser): UserResource {
  const out: JsonObject = { userName: fs.userName };
  if (typeof fs.externalId === 'string') out.externalId = fs.externalId;
  if (fs.name && isObject(fs.name as Json)) out.name = fs.name as JsonObject;
  if (typeof fs.displayName === 'string') out.displayName = fs.displayName;
  if (Array.isArray(fs.emails)) out.emails = fs.emails as Json[];
  if (typeof fs.active === 'boolean') out.active = fs.active;
  return out as UserResource;
}
