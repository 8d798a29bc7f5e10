import { scimPatch, type ScimPatchOperation, type ScimResource } from 'scim-patch';
import { SCHEMA } from './constants.js';
import { badRequest, ScimError } from './errors.js';
import { asBoolean, normaliseFilterBooleans, splitPath, type PatchOperation } from './patch.js';
import { canonicalCoreAttr, canonicalSubAttr, normaliseManager, normaliseUser, READ_ONLY_ATTRS, type UserResource } from './user.js';
import { isObject, type Json } from './values.js';

const ENTERPRISE_PREFIX = `${SCHEMA.enterprise.toLowerCase()}:`;
const CORE_PREFIX = `${SCHEMA.user.toLowerCase()}:`;

interface Target {
  /** The canonical path scim-patch applies. */
  path: string;
  attr: string;
  sub?: string;
  filtered: boolean;
}

/** Canonicalises a user attribute path; the enterprise URN and Entra's bare "manager" become one place. */
function resolvePath(path: string): Target | 'ignore' {
  const lower = path.toLowerCase();
  if (lower.startsWith(ENTERPRISE_PREFIX)) {
    const rest = splitPath(path.slice(ENTERPRISE_PREFIX.length));
    const attr = canonicalSubAttr(SCHEMA.enterprise, rest.attr);
    if (!attr || rest.filter) throw badRequest(`Unknown enterprise attribute "${rest.attr}"`, 'invalidPath');
    const sub = rest.sub ? (canonicalSubAttr('manager', rest.sub) ?? rest.sub) : undefined;
    return { path: `${SCHEMA.enterprise}:${attr}${sub ? `.${sub}` : ''}`, attr: `${SCHEMA.enterprise}:${attr}`, ...(sub ? { sub } : {}), filtered: false };
  }
  if (lower.startsWith(CORE_PREFIX)) return resolvePath(path.slice(CORE_PREFIX.length));
  if (lower.startsWith('urn:')) throw badRequest(`Unknown schema in path "${path.slice(0, 80)}"`, 'invalidPath');
  const { attr: rawAttr, filter, sub: rawSub } = splitPath(path);
  if (rawAttr.toLowerCase() === 'manager' && !filter) {
    return resolvePath(`${SCHEMA.enterprise}:manager${rawSub ? `.${rawSub}` : ''}`);
  }
  const lowerAttr = rawAttr.toLowerCase();
  if (lowerAttr === 'password') return 'ignore';
  // The bridge sets schemas from what the user holds: a change to it would change nothing (RFC 7643 §3: readOnly here).
  if (lowerAttr === 'schemas') throw new ScimError(400, '"schemas" is read-only: it follows the attributes the user holds', 'mutability');
  if (READ_ONLY_ATTRS.has(lowerAttr)) throw new ScimError(400, `"${rawAttr}" is read-only`, 'mutability');
  const attr = canonicalCoreAttr(rawAttr);
  if (!attr) throw badRequest(`Unknown attribute "${rawAttr.slice(0, 64)}" in path`, 'invalidPath');
  const sub = rawSub ? canonicalSubAttr(attr, rawSub) : undefined;
  if (rawSub && !sub) throw badRequest(`Unknown sub-attribute "${attr}.${rawSub.slice(0, 64)}"`, 'invalidPath');
  const canonical = `${attr}${filter ? `[${normaliseFilterBooleans(filter)}]` : ''}${sub ? `.${sub}` : ''}`;
  return { path: canonical, attr, ...(sub ? { sub } : {}), filtered: filter !== undefined };
}

function normaliseValue(target: Target, value: Json): Json {
  if (target.attr === 'active' || target.sub === 'primary') return asBoolean(value, target.path);
  if (target.attr === `${SCHEMA.enterprise}:manager` && !target.sub) return normaliseManager(value);
  if (target.attr === 'emails' && !target.filtered && !target.sub && isObject(value)) return [value];
  return value;
}

/**
 * scim-patch reads a dotted key in a value as a path and walks it (`{"toString.x": 1}`
 * would reach Object.prototype.toString). Dotted keys are an IdP's way to name attributes
 * in a pathless operation, which `expand` splits first; inside a value at a path they
 * name nothing, and are refused before scim-patch sees them.
 */
function assertNoDottedKeys(value: Json, path: string, depth = 0): void {
  if (depth > 8) return;
  if (Array.isArray(value)) return value.forEach((v) => assertNoDottedKeys(v, path, depth + 1));
  if (!isObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('.'))
      throw badRequest(`The value at "${path.slice(0, 80)}" has a dotted key "${k.slice(0, 40)}"; name sub-attributes in the path instead`, 'invalidValue');
    assertNoDottedKeys(v, path, depth + 1);
  }
}

/**
 * Turns one IdP operation into plain RFC 7644 operations on canonical paths:
 * a pathless value is split into one operation per attribute (Entra's dotted keys
 * included), complex single-valued attributes per sub-attribute (so the others stay),
 * and `null` becomes remove.
 */
function expand(op: PatchOperation, userId: string, resource: UserResource): ScimPatchOperation[] {
  // The enterprise extension's URN as the whole path (RFC 7644 §3.5.2): its attributes, one by one.
  if (op.path !== undefined && op.path.toLowerCase() === SCHEMA.enterprise.toLowerCase()) {
    if (op.op === 'remove' || op.value === null) {
      const current = resource[SCHEMA.enterprise];
      return isObject(current) ? Object.keys(current).map((k) => ({ op: 'remove' as const, path: `${SCHEMA.enterprise}:${k}` })) : [];
    }
    if (!isObject(op.value)) throw badRequest(`"${SCHEMA.enterprise}" as a path needs an object value`, 'invalidValue');
    return Object.entries(op.value).flatMap(([k, v]) => expand({ op: op.op, path: `${SCHEMA.enterprise}:${k}`, value: v }, userId, resource));
  }
  if (op.path === undefined) {
    if (!isObject(op.value)) throw badRequest(`A ${op.op} without "path" needs an object value`, 'invalidValue');
    return Object.entries(op.value).flatMap(([key, value]): ScimPatchOperation[] => {
      const lower = key.toLowerCase();
      if (lower === 'id') {
        if (value !== userId) throw new ScimError(400, '"id" is read-only', 'mutability');
        return [];
      }
      if ((lower === 'name' || lower === SCHEMA.enterprise.toLowerCase()) && isObject(value)) {
        const prefix = lower === 'name' ? 'name.' : `${SCHEMA.enterprise}:`;
        return Object.entries(value).flatMap(([k, v]) => expand({ op: op.op, path: `${prefix}${k}`, value: v }, userId, resource));
      }
      return expand({ op: op.op, path: key, value }, userId, resource);
    });
  }
  const target = resolvePath(op.path);
  if (target === 'ignore') return [];
  if (op.op === 'remove' || op.value === null) return [{ op: 'remove', path: target.path }];
  if (op.value === undefined) throw badRequest(`"${op.path}" needs a value`);
  assertNoDottedKeys(op.value, target.path);
  const value = normaliseValue(target, op.value);
  // A manager is one person: the old manager's $ref or displayName must not survive into the new one
  // (add and replace both merge sub-attributes into a complex attribute, RFC 7644 §3.5.2).
  if (target.attr === `${SCHEMA.enterprise}:manager` && !target.sub) {
    return [
      { op: 'remove', path: target.path },
      { op: 'add', path: target.path, value },
    ];
  }
  return [{ op: op.op, path: target.path, value }];
}

/** Applies an IdP's PatchOp to a stored user; the result is validated like a PUT body. */
export function applyUserPatch(resource: UserResource, ops: PatchOperation[], userId: string): UserResource {
  const expanded = ops.flatMap((op) => expand(op, userId, resource));
  // One copy, patched in place: scim-patch would otherwise copy the whole user again for every
  // operation. Set on the copy, not spread into a new object (twice the time of the copy itself).
  const copy = JSON.parse(JSON.stringify(resource)) as Record<string, Json>;
  copy.schemas = [SCHEMA.user];
  copy.meta = {};
  let doc = copy as unknown as ScimResource;
  for (const op of expanded) {
    try {
      doc = scimPatch(doc, [op], { mutateDocument: true, treatMissingAsAdd: true });
    } catch (err) {
      // Removing what is not there leaves the user as the IdP wants it: a no-op, not an error.
      const missing = ['NoTarget', 'FilterArrayTargetNotFound', 'FilterOnEmptyArray'].includes((err as Error).constructor.name);
      if (op.op === 'remove' && missing) continue;
      if (missing) throw badRequest(`No value matches "${op.path}"`, 'noTarget');
      throw badRequest(`Operation on "${op.path ?? '(no path)'}" could not be applied: ${(err as Error).message}`, 'invalidValue');
    }
  }
  const result = doc as unknown as Record<string, Json>;
  delete result.meta;
  // An extension with nothing left in it is gone (and leaves `schemas` with it).
  const ext = result[SCHEMA.enterprise];
  if (isObject(ext) && Object.keys(ext).length === 0) delete result[SCHEMA.enterprise];
  return normaliseUser(result);
}
