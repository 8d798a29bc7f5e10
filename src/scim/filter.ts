import { badRequest } from './errors.js';
import { matchesFilter, unknownAttribute } from './filter-eval.js';
import { isComparison, isValuePath, parseFilterTree, type FilterNode } from './filter-parse.js';
import type { JsonObject } from './values.js';

/** One `attr eq value` term of a filter the index can answer. */
export interface EqTerm {
  /** Canonical key from the caller's vocabulary, e.g. "userName", "emails.value". */
  key: string;
  value: string | boolean;
  /** For `emails[type eq "work"].value`: the element's type. */
  type?: string;
}

export const MAX_FILTER_LENGTH = 1024;

const SIMPLE_TERM = /^\s*([A-Za-z][\w.]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i;

/**
 * The shape IdPs send on nearly every lookup, `attr eq "value"`, read without the
 * general parser (the parse was most of a filtered GET's cost: docs/benchmarks.md).
 * Anything else, or any doubt, goes to the parser.
 */
function simpleEq(filter: string, vocabulary: Record<string, string>): EqTerm[] | undefined {
  const m = SIMPLE_TERM.exec(filter);
  if (!m) return undefined;
  const key = vocabulary[m[1]!.toLowerCase()];
  if (!key) return undefined;
  try {
    const value: unknown = JSON.parse(m[2]!);
    return typeof value === 'string' ? [{ key, value }] : undefined;
  } catch {
    return undefined;
  }
}

/** `sub eq "string"` as [sub, value], lower-cased name. */
function stringEq(node: FilterNode): [string, string] | undefined {
  return isComparison(node) && node.op === 'eq' && typeof node.value === 'string' ? [node.attr.toLowerCase(), node.value] : undefined;
}

/**
 * The one form the index answers: `eq` terms joined by `and` on the vocabulary's keys,
 * elements' `value` by their `type` (Entra's `emails[type eq "work"].value eq "x"`, or
 * `emails[type eq "work" and value eq "x"]`). Undefined for anything else.
 */
function eqTerms(tree: FilterNode, vocabulary: Record<string, string>): EqTerm[] | undefined {
  const terms: EqTerm[] = [];
  for (const part of 'and' in tree ? tree.and : [tree]) {
    if (isComparison(part)) {
      const key = vocabulary[part.attr.toLowerCase()];
      if (!key || part.op !== 'eq' || (typeof part.value !== 'string' && typeof part.value !== 'boolean')) return undefined;
      terms.push({ key, value: part.value });
      continue;
    }
    if (!isValuePath(part)) return undefined;
    const inner = 'and' in part.filter ? part.filter.and : [part.filter];
    const conds = inner.map(stringEq);
    if (conds.some((c) => c === undefined)) return undefined;
    const type = conds.find((c) => c![0] === 'type')?.[1];
    const value = part.then
      ? part.then.op === 'eq' && typeof part.then.value === 'string'
        ? part.then.value
        : undefined
      : conds.find((c) => c![0] === 'value')?.[1];
    const key = vocabulary[`${part.attr.toLowerCase()}.${part.then ? part.then.attr.toLowerCase() : 'value'}`];
    const expected = (type !== undefined ? 1 : 0) + (part.then ? 0 : 1);
    if (!key || value === undefined || conds.length !== expected) return undefined;
    terms.push({ key, value, ...(type !== undefined ? { type } : {}) });
  }
  return terms;
}

/**
 * Parses a filter into `eq` terms joined by `and`, each on an attribute the caller names
 * in `vocabulary` (lower-cased dotted path -> canonical key). Anything else is 400
 * invalidFilter, with the supported forms in the detail.
 */
export function parseEqFilter(filter: string, vocabulary: Record<string, string>): EqTerm[] {
  if (filter.length > MAX_FILTER_LENGTH) throw badRequest(`The filter is longer than ${MAX_FILTER_LENGTH} characters`, 'invalidFilter');
  const quick = simpleEq(filter, vocabulary);
  if (quick) return quick;
  const terms = eqTerms(parseFilterTree(filter), vocabulary);
  if (!terms) throw badRequest(`Only ${Object.values(vocabulary).join(', ')} with "eq", joined by "and", are supported here`, 'invalidFilter');
  return terms;
}

/**
 * A filter as the bridge answers it: `eq` terms joined by `and` on attributes the index
 * holds (answered by the store, and upstream on a miss), or else a predicate over the
 * resource as the IdP reads it (the whole RFC 7644 §3.4.2.2 grammar), which the store's
 * rows are scanned with. Malformed, or on an attribute `known` refuses: 400 invalidFilter.
 */
export type ParsedFilter = { terms: EqTerm[] } | { match: (resource: JsonObject) => boolean };

export function parseFilter(filter: string, vocabulary: Record<string, string>, known: (attr: string) => boolean): ParsedFilter {
  if (filter.length > MAX_FILTER_LENGTH) throw badRequest(`The filter is longer than ${MAX_FILTER_LENGTH} characters`, 'invalidFilter');
  const quick = simpleEq(filter, vocabulary);
  if (quick) return { terms: quick };
  const tree = parseFilterTree(filter);
  const terms = eqTerms(tree, vocabulary);
  if (terms) return { terms };
  const unknown = unknownAttribute(tree, known);
  if (unknown) throw badRequest(`The filter names "${unknown}", which cannot be filtered on`, 'invalidFilter');
  return { match: (resource) => matchesFilter(resource, tree) };
}
