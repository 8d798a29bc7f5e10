import { isValuePath, type CompareOp, type FilterNode } from './filter-parse.js';
import { isObject, type Json, type JsonObject } from './values.js';

/** Attributes whose strings compare as written (RFC 7643 §4, §8.7.1): ids and references. Everything else ignores case. */
const CASE_EXACT = new Set(['id', 'externalid', 'members.value', 'members.$ref', 'meta.location', 'groups.value', 'groups.$ref', 'manager.value']);

/** Attributes holding dates (RFC 7643 §3.1), compared as instants. */
const DATES = new Set(['meta.created', 'meta.lastmodified']);

/**
 * The value at a key, whatever its case (RFC 7643 §2.1: attribute names are case-insensitive).
 * Own properties only: `name.constructor` must find nothing, not Object.
 */
function get(obj: JsonObject, key: string): Json | undefined {
  if (Object.hasOwn(obj, key)) return obj[key];
  const lc = key.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lc) return obj[k];
  return undefined;
}

/**
 * Every leaf value a path reaches: `name.familyName`, `emails.value` (one per element),
 * an extension's attribute by URN (`urn:...:User:department`, `...:manager.value`).
 * Returns the values and the path's lower-cased name for its schema rules.
 */
function resolve(obj: JsonObject, attr: string): { values: Json[]; path: string } {
  let path = attr;
  let roots: Json[] = [obj];
  if (attr.toLowerCase().startsWith('urn:')) {
    const cut = attr.lastIndexOf(':');
    const ext = get(obj, attr.slice(0, cut));
    roots = isObject(ext) ? [ext] : [];
    path = attr.slice(cut + 1);
  }
  let values = roots;
  for (const part of path.split('.')) {
    const next: Json[] = [];
    for (const v of values) {
      const items = Array.isArray(v) ? v : [v];
      for (const item of items) {
        if (!isObject(item)) continue;
        const found = get(item, part);
        if (found !== undefined) next.push(found);
      }
    }
    values = next;
  }
  return { values: values.flatMap((v) => (Array.isArray(v) ? v : [v])), path: path.toLowerCase() };
}

const present = (v: Json | undefined) =>
  v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0) && !(isObject(v) && Object.keys(v).length === 0);

function compare(actual: Json | undefined, op: string, expected: unknown, path: string): boolean {
  if (actual === undefined || actual === null || isObject(actual) || Array.isArray(actual)) return false;
  if (typeof actual === 'boolean' || typeof expected === 'boolean') {
    const want = typeof expected === 'string' ? expected.toLowerCase() === 'true' : expected;
    return op === 'eq' ? actual === want : op === 'ne' ? actual !== want : false;
  }
  if (DATES.has(path) && typeof expected === 'string') {
    const [a, b] = [Date.parse(String(actual)), Date.parse(expected)];
    if (Number.isNaN(a) || Number.isNaN(b)) return false;
    return ordered(a, b, op);
  }
  if (typeof actual === 'number' && typeof expected === 'number') return ordered(actual, expected, op);
  if (typeof expected !== 'string') return op === 'ne';
  const exact = CASE_EXACT.has(path);
  const [a, b] = exact ? [String(actual), expected] : [String(actual).toLowerCase(), expected.toLowerCase()];
  switch (op) {
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    default:
      return ordered(a, b, op);
  }
}

function ordered<T extends string | number>(a: T, b: T, op: string): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}

/** One comparison on the values a path reached: any of them; `ne` means none equals, `pr` any present. */
function test(values: Json[], op: CompareOp, expected: unknown, path: string): boolean {
  if (op === 'pr') return values.some(present);
  // A multi-valued complex attribute compared as a whole is compared by its elements' `value`.
  const holds = (x: Json, o: CompareOp) => (isObject(x) ? compare(x.value, o, expected, `${path}.value`) : compare(x, o, expected, path));
  return op === 'ne' ? !values.some((x) => holds(x, 'eq')) : values.some((x) => holds(x, op));
}

function evaluate(obj: JsonObject, node: FilterNode, prefix: string): boolean {
  if ('and' in node) return node.and.every((n) => evaluate(obj, n, prefix));
  if ('or' in node) return node.or.some((n) => evaluate(obj, n, prefix));
  if ('not' in node) return !evaluate(obj, node.not, prefix);
  const { values, path } = resolve(obj, node.attr);
  const full = prefix ? `${prefix}.${path}` : path;
  if (isValuePath(node)) {
    // Conditions on one element of a multi-valued attribute (`emails[type eq "work" and value co "x"]`).
    return values.some((el) => {
      if (!isObject(el) || !evaluate(el, node.filter, full)) return false;
      if (!node.then) return true;
      const sub = resolve(el, node.then.attr);
      return test(sub.values, node.then.op, node.then.value, `${full}.${sub.path}`);
    });
  }
  return test(values, node.op, node.value, full);
}

/** Whether a resource (as the IdP would read it) matches a filter. */
export function matchesFilter(resource: JsonObject, filter: FilterNode): boolean {
  return evaluate(resource, filter, '');
}

/** The first attribute of the filter that `known` refuses, if any (sub-filters name sub-attributes, not checked here). */
export function unknownAttribute(filter: FilterNode, known: (attr: string) => boolean): string | undefined {
  if ('and' in filter) return filter.and.map((n) => unknownAttribute(n, known)).find(Boolean);
  if ('or' in filter) return filter.or.map((n) => unknownAttribute(n, known)).find(Boolean);
  if ('not' in filter) return unknownAttribute(filter.not, known);
  const top = filter.attr.toLowerCase().startsWith('urn:') ? filter.attr : filter.attr.split('.')[0]!;
  return known(top) ? undefined : filter.attr;
}

/** The value a `sortBy` path names (sub-attributes and URNs as in filters); a multi-valued one by its primary or first element. */
export function sortValue(resource: JsonObject, path: string): Json | undefined {
  const { values, path: name } = resolve(resource, path);
  const el = values.find((e) => isObject(e) && e.primary === true) ?? values[0];
  const value = isObject(el) ? el.value : el;
  return typeof value === 'string' && !DATES.has(path.toLowerCase()) && !CASE_EXACT.has(name) ? value.toLowerCase() : value;
}

/** RFC 7644 §3.4.2.3: by the attribute, ascending unless asked otherwise; resources without it last. */
export function compareForSort(a: Json | undefined, b: Json | undefined, descending: boolean): number {
  const missing = (v: Json | undefined) => v === undefined || v === null;
  if (missing(a) || missing(b)) return missing(a) === missing(b) ? 0 : missing(a) ? 1 : -1;
  const order = a! < b! ? -1 : a! > b! ? 1 : 0;
  return descending ? -order : order;
}
