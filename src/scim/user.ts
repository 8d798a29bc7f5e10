import { identityProblem, identityText } from '../lib/identity-text.js';
import { SCHEMA } from './constants.js';
import { badRequest } from './errors.js';
import { assertSafeValue, dropNulls, isObject, toBoolean, type Json, type JsonObject } from './values.js';

/**
 * A user as the IdP wrote it, normalised: canonical attribute names, nulls dropped,
 * Entra's string booleans and plain-string manager fixed, read-only and write-only
 * attributes removed. No id or meta: those are the server's.
 */
export type UserResource = JsonObject & { userName: string };

const canon = (names: string[]) => new Map(names.map((n) => [n.toLowerCase(), n]));

const STRING_ATTRS = ['userName', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'externalId'];
const MULTI_ATTRS = ['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates'];
const CORE = canon([...STRING_ATTRS, ...MULTI_ATTRS, 'name', 'active']);
/** Accepted and dropped: server-owned (id, meta, groups), write-only (password), envelope (schemas). */
const IGNORED = new Set(['id', 'meta', 'groups', 'password', 'schemas']);
const NAME_SUB = canon(['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix']);
const MULTI_SUB = canon(['value', 'display', 'type', 'primary', '$ref', 'formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country']);
const ENTERPRISE_SUB = canon(['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager']);
const MANAGER_SUB = canon(['value', '$ref', 'displayName']);

export const READ_ONLY_ATTRS = new Set(['id', 'meta', 'groups']);

/** An attribute a User filter may name: any of the schema's (and id, meta), an extension's by URN; never the write-only password. */
export function filterableUserAttr(attr: string): boolean {
  const lc = attr.toLowerCase();
  if (lc.startsWith('urn:')) return lc.startsWith(SCHEMA.enterprise.toLowerCase()) || lc.startsWith(SCHEMA.user.toLowerCase());
  return CORE.has(lc) || lc === 'id' || lc === 'meta' || lc === 'groups';
}

export function canonicalCoreAttr(name: string): string | undefined {
  return CORE.get(name.toLowerCase());
}
export function canonicalSubAttr(parent: string, name: string): string | undefined {
  const table = parent === 'name' ? NAME_SUB : parent === SCHEMA.enterprise ? ENTERPRISE_SUB : parent === 'manager' ? MANAGER_SUB : MULTI_SUB;
  return table.get(name.toLowerCase());
}
export function isEnterpriseUrn(name: string): boolean {
  return name.toLowerCase() === SCHEMA.enterprise.toLowerCase();
}

/** One person, one spelling (lib/identity-text.ts): NFC and trimmed, nothing invisible in it. */
function personText(value: string, where: string): string {
  const text = identityText(value);
  const problem = identityProblem(text);
  if (problem) throw badRequest(`"${where}" ${problem}`, 'invalidValue');
  return text;
}

function expectString(value: Json, where: string): string {
  if (typeof value !== 'string') throw badRequest(`"${where}" must be a string`);
  return value;
}

function normaliseMulti(attr: string, value: Json): Json[] {
  if (!Array.isArray(value)) throw badRequest(`"${attr}" must be an array`);
  return value.map((item, i) => {
    if (!isObject(item)) throw badRequest(`"${attr}[${i}]" must be an object`);
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(item)) {
      const key = canonicalSubAttr(attr, k) ?? k;
      if (key === 'primary') {
        const b = toBoolean(v);
        if (b === undefined) throw badRequest(`"${attr}[${i}].primary" must be a boolean`);
        out.primary = b;
      } else if (key === 'value' && attr === 'emails') {
        out.value = personText(expectString(v, `emails[${i}].value`), `emails[${i}].value`);
      } else if (key === 'value' && attr !== 'roles' && attr !== 'entitlements' && attr !== 'x509Certificates') {
        out.value = expectString(v, `${attr}[${i}].value`);
      } else {
        out[key] = v;
      }
    }
    return out;
  });
}

/** Entra sends manager as "123456", as [{"value":..., "$ref":...}] or as {"value":...}; the IdP reads {"value":...}. */
export function normaliseManager(value: Json): JsonObject {
  if (typeof value === 'string') return { value };
  const single = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
  if (!isObject(single)) throw badRequest('"manager" must be a string, an object with "value", or a one-element list of it');
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(single)) {
    if (v === null) continue;
    out[canonicalSubAttr('manager', k) ?? k] = v;
  }
  if (out.value !== undefined) expectString(out.value, 'manager.value');
  return out;
}

function normaliseEnterprise(value: Json, into: JsonObject): void {
  if (!isObject(value)) throw badRequest(`"${SCHEMA.enterprise}" must be an object`);
  for (const [k, v] of Object.entries(value)) {
    const key = canonicalSubAttr(SCHEMA.enterprise, k) ?? k;
    into[key] = key === 'manager' ? normaliseManager(v) : v;
  }
}

export function assertUserSchemas(body: JsonObject): void {
  const schemas = body.schemas;
  if (schemas === undefined) return;
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) {
    throw badRequest('"schemas" must be an array of schema URNs', 'invalidSyntax');
  }
  if (!schemas.some((s) => (s as string).toLowerCase() === SCHEMA.user.toLowerCase())) {
    throw badRequest(`"schemas" must include ${SCHEMA.user}`, 'invalidSyntax');
  }
}

/** Validates and normalises a User body from POST or PUT (or the result of a PATCH). */
export function normaliseUser(input: unknown): UserResource {
  if (!isObject(input)) throw badRequest('The request body must be a JSON object', 'invalidSyntax');
  assertUserSchemas(input);
  const body = dropNulls(input);
  const out: JsonObject = {};
  const enterprise: JsonObject = {};
  let enterpriseSent = false;
  for (const [rawKey, value] of Object.entries(body)) {
    const lower = rawKey.toLowerCase();
    if (IGNORED.has(lower)) continue;
    if (isEnterpriseUrn(rawKey)) {
      normaliseEnterprise(value, enterprise);
      enterpriseSent = true;
      continue;
    }
    if (lower === 'manager') {
      // Entra's top-level "manager" is the enterprise extension's.
      enterprise.manager = normaliseManager(value);
      enterpriseSent = true;
      continue;
    }
    if (lower.startsWith('urn:')) {
      if (!isObject(value)) throw badRequest(`Extension "${rawKey}" must be an object`);
      out[rawKey] = value;
      continue;
    }
    const key = canonicalCoreAttr(rawKey);
    if (!key) throw badRequest(`Unknown attribute "${rawKey.slice(0, 64)}" for a User`, 'invalidValue');
    if (key === 'active') {
      const b = toBoolean(value);
      if (b === undefined) throw badRequest('"active" must be a boolean');
      out.active = b;
    } else if (key === 'name') {
      if (!isObject(value)) throw badRequest('"name" must be an object');
      const name: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const sub = canonicalSubAttr('name', k);
        if (!sub) throw badRequest(`Unknown attribute "name.${k.slice(0, 64)}"`);
        name[sub] = expectString(v, `name.${sub}`);
      }
      out.name = name;
    } else if (MULTI_ATTRS.includes(key)) {
      out[key] = normaliseMulti(key, value);
    } else {
      out[key] = expectString(value, key);
    }
  }
  if (enterpriseSent) out[SCHEMA.enterprise] = enterprise;
  if (typeof out.userName !== 'string' || out.userName.trim() === '') {
    throw badRequest('"userName" is required and must be a non-empty string');
  }
  out.userName = personText(out.userName, 'userName');
  assertSafeValue(out, 'User');
  return out as UserResource;
}

/** The schemas a stored user's representation declares. */
export function userSchemas(resource: JsonObject): string[] {
  const extensions = Object.keys(resource).filter((k) => k.startsWith('urn:'));
  return [SCHEMA.user, ...extensions];
}
