import SCIMMY from 'scimmy';
import { SCHEMA } from './constants.js';
import { badRequest, ScimError } from './errors.js';
import type { PatchOperation } from './patch.js';
import { assertSafeValue, dropNulls, isObject, type Json, type JsonObject } from './values.js';

export interface GroupInput {
  displayName: string;
  externalId: string | null;
  /** Member user ids, deduplicated, in the order given. */
  members: string[];
  /** The `display` a member was given, by user id (kept as sent, shown back). */
  displays: Map<string, string>;
  /** Extension objects (URN keys), kept as written. */
  extra: JsonObject;
}

/** One change to a group, whatever dialect it came in. */
export type GroupChange =
  | { kind: 'add'; ids: string[]; displays: Map<string, string> }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'removeAll' }
  | { kind: 'replace'; ids: string[]; displays: Map<string, string> }
  | { kind: 'displayName'; value: string }
  | { kind: 'externalId'; value: string | null };

const IGNORED = new Set(['id', 'meta', 'schemas']);

/** Member values: `{"value": id}` with or without type, display, $ref (Entra sends "$ref": null). */
/** An attribute a Group filter may name: the schema's, id and meta, or an extension's by URN. */
export function filterableGroupAttr(attr: string): boolean {
  const lc = attr.toLowerCase();
  return lc.startsWith('urn:') || ['displayname', 'members', 'externalid', 'id', 'meta'].includes(lc);
}

export function memberIds(value: Json, where = 'members'): string[] {
  return memberRefs(value, where).ids;
}

/** Member ids, deduplicated, and the `display` each was sent with (type and $ref follow from the id). */
export function memberRefs(value: Json, where = 'members'): { ids: string[]; displays: Map<string, string> } {
  // `null` means "not set" (Entra): a null member, or a null display, is left out.
  const list = (Array.isArray(value) ? value : [value]).filter((m) => m !== null);
  const displays = new Map<string, string>();
  const ids = list.map((m, i) => {
    const field = (name: string) => (isObject(m) ? Object.entries(m).find(([k]) => k.toLowerCase() === name)?.[1] : undefined);
    const v = field('value');
    if (typeof v !== 'string' || v === '') throw badRequest(`${where}[${i}] needs a "value" with a user id`);
    const display = field('display');
    if (display !== undefined && display !== null && typeof display !== 'string') throw badRequest(`${where}[${i}].display must be a string`);
    if (typeof display === 'string') {
      assertSafeValue(display, 'members.display');
      displays.set(v, display);
    }
    return v;
  });
  return { ids: [...new Set(ids)], displays };
}

export function normaliseGroup(input: unknown): GroupInput {
  if (!isObject(input)) throw badRequest('The request body must be a JSON object', 'invalidSyntax');
  const schemas = input.schemas;
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA.group.toLowerCase()))) {
    throw badRequest(`"schemas" must include ${SCHEMA.group}`, 'invalidSyntax');
  }
  const out: GroupInput = { displayName: '', externalId: null, members: [], displays: new Map(), extra: {} };
  for (const [key, raw] of Object.entries(input)) {
    const lower = key.toLowerCase();
    if (raw === null || IGNORED.has(lower)) continue;
    // Members are read where they lie (memberRefs skips their nulls): a copy of 100,000 of them would only be garbage.
    const value = lower === 'members' ? raw : dropNulls(raw);
    if (lower === 'displayname') {
      if (typeof value !== 'string') throw badRequest('"displayName" must be a string');
      out.displayName = value;
    } else if (lower === 'externalid') {
      if (typeof value !== 'string') throw badRequest('"externalId" must be a string');
      out.externalId = value;
    } else if (lower === 'members') {
      ({ ids: out.members, displays: out.displays } = memberRefs(value));
    } else if (lower.startsWith('urn:') || lower.startsWith('http://schemas.microsoft.com/')) {
      out.extra[key] = value;
    } else {
      throw badRequest(`Unknown attribute "${key.slice(0, 64)}" for a Group`);
    }
  }
  if (out.displayName.trim() === '') throw badRequest('"displayName" is required and must be a non-empty string');
  assertSafeValue({ displayName: out.displayName, externalId: out.externalId, extra: out.extra }, 'Group');
  for (const id of out.members) assertSafeValue(id, 'members.value');
  return out;
}

/** `members[value eq "a"]` (or `... or value eq "b"`): the ids it names. */
function idsFromMemberFilter(filter: string): string[] {
  let parsed: unknown[];
  try {
    parsed = [...new SCIMMY.Types.Filter(filter)] as unknown[];
  } catch {
    throw badRequest(`Member filter "${filter.slice(0, 80)}" could not be parsed`, 'invalidFilter');
  }
  return parsed.map((branch) => {
    const entries = Object.entries(branch as Record<string, unknown>);
    const cond = entries.length === 1 && entries[0]![0].toLowerCase() === 'value' ? entries[0]![1] : undefined;
    if (!Array.isArray(cond) || cond[0] !== 'eq' || typeof cond[1] !== 'string') {
      throw badRequest(`Only members[value eq "id"] filters are supported, not "${filter.slice(0, 80)}"`, 'invalidFilter');
    }
    return cond[1];
  });
}

function pathChange(op: PatchOperation, groupId: string): GroupChange[] {
  const path = op.path!;
  const m = /^(?:urn:ietf:params:scim:schemas:core:2\.0:group:)?([A-Za-z]+)(?:\[(.+)\])?(?:\.([A-Za-z$]+))?$/i.exec(path);
  if (!m) throw badRequest(`"${path.slice(0, 80)}" is not a valid path`, 'invalidPath');
  const attr = m[1]!.toLowerCase();
  const filter = m[2];
  if (m[3] !== undefined) throw badRequest(`Sub-attribute paths like "${path.slice(0, 80)}" are not supported on groups`, 'invalidPath');
  if (attr === 'members') {
    if (filter !== undefined) {
      if (op.op !== 'remove') throw badRequest(`A filtered members path only works with remove`, 'invalidPath');
      return [{ kind: 'remove', ids: idsFromMemberFilter(filter) }];
    }
    if (op.op === 'remove') {
      // Entra removes with a value list; without one, every member goes.
      return op.value === undefined || op.value === null ? [{ kind: 'removeAll' }] : [{ kind: 'remove', ids: memberIds(op.value) }];
    }
    const { ids, displays } = op.value === null ? { ids: [], displays: new Map<string, string>() } : memberRefs(op.value as Json);
    return [{ kind: op.op === 'add' ? 'add' : 'replace', ids, displays }];
  }
  if (filter !== undefined) throw badRequest(`"${attr}" cannot be filtered`, 'invalidPath');
  if (attr === 'displayname') {
    if (op.op === 'remove') throw new ScimError(400, '"displayName" is required and cannot be removed', 'mutability');
    if (typeof op.value !== 'string' || op.value.trim() === '') throw badRequest('"displayName" must be a non-empty string');
    assertSafeValue(op.value, 'displayName');
    return [{ kind: 'displayName', value: op.value }];
  }
  if (attr === 'externalid') {
    if (op.op === 'remove' || op.value === null) return [{ kind: 'externalId', value: null }];
    if (typeof op.value !== 'string') throw badRequest('"externalId" must be a string');
    assertSafeValue(op.value, 'externalId');
    return [{ kind: 'externalId', value: op.value }];
  }
  if (attr === 'id' || attr === 'meta') {
    // Okta's rename carries the group's own id; anything else would change it.
    if (attr === 'id' && op.value === groupId) return [];
    throw new ScimError(400, `"${attr}" is read-only`, 'mutability');
  }
  throw badRequest(`Unknown group attribute "${attr}"`, 'invalidPath');
}

/**
 * Reads a group PatchOp in Okta's or Entra's dialect into changes on the member set:
 * Okta's pathless replace that carries the id, `members[value eq "x"]` removal,
 * Entra's `Remove` with a value list, an empty replace. No member ops at all is fine.
 */
export function groupChanges(ops: PatchOperation[], groupId: string): GroupChange[] {
  return ops.flatMap((op): GroupChange[] => {
    if (op.path !== undefined) return pathChange(op, groupId);
    if (!isObject(op.value)) throw badRequest(`A ${op.op} without "path" needs an object value`);
    return Object.entries(op.value).flatMap(([key, value]) => {
      if (key.toLowerCase() === 'schemas') return [];
      return pathChange({ op: op.op, path: key, value }, groupId);
    });
  });
}
