import SCIMMY from 'scimmy';
import { badRequest } from './errors.js';

/** One `attr eq value` term of a filter the bridge can answer. */
export interface EqTerm {
  /** Canonical key from the caller's vocabulary, e.g. "userName", "emails.value". */
  key: string;
  value: string | boolean;
  /** For `emails[type eq "work"].value`: the element's type. */
  type?: string;
}

export const MAX_FILTER_LENGTH = 1024;

const STRING_LITERAL = /"(?:[^"\\]|\\.)*"/g;

/**
 * scimmy's parser stops at an escaped quote inside a value (`"jo\"hn"`), although
 * RFC 7644 filter values are JSON strings. So each literal is decoded here first and
 * handed to scimmy as a plain placeholder, then put back: values stay data, whatever
 * characters they carry.
 */
function parseWithScimmy(filter: string): unknown[] {
  const literals: string[] = [];
  const masked = filter.replace(STRING_LITERAL, (lit) => {
    let decoded: unknown;
    try {
      decoded = JSON.parse(lit);
    } catch {
      throw badRequest(`The filter has a malformed string literal: ${lit.slice(0, 40)}`, 'invalidFilter');
    }
    literals.push(decoded as string);
    return `"\u0001${literals.length - 1}\u0001"`;
  });
  if (/"/.test(masked.replace(/"\u0001\d+\u0001"/g, ''))) {
    throw badRequest('The filter has an unterminated string literal', 'invalidFilter');
  }
  let parsed: unknown[];
  try {
    parsed = [...new SCIMMY.Types.Filter(masked)] as unknown[];
  } catch (err) {
    throw badRequest(`The filter could not be parsed: ${(err as Error).message}`, 'invalidFilter');
  }
  const restore = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const m = /^\u0001(\d+)\u0001$/.exec(v);
      return m ? literals[Number(m[1])] : v;
    }
    if (Array.isArray(v)) return v.map(restore);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, restore(x)]));
    return v;
  };
  return restore(parsed) as unknown[];
}

type Cond = [string, ...unknown[]];

const SIMPLE_TERM = /^\s*([A-Za-z][\w.]*)\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i;

/**
 * The shape IdPs send on nearly every lookup, `attr eq "value"`, read without the
 * general parser (measured: scimmy's parse was most of a filtered GET's cost).
 * Anything else, or any doubt, goes to scimmy.
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

function conditions(node: unknown): Cond[] {
  if (!Array.isArray(node)) return [];
  return Array.isArray(node[0]) ? (node as Cond[]) : [node as Cond];
}

/**
 * Parses a filter into `eq` terms joined by `and`, each on an attribute the caller
 * names in `vocabulary` (lower-cased dotted path -> canonical key). Anything else is
 * 400 invalidFilter, with the supported forms in the detail.
 */
export function parseEqFilter(filter: string, vocabulary: Record<string, string>): EqTerm[] {
  const supported = `supported: ${Object.values(vocabulary).join(', ')} with "eq", joined by "and"`;
  if (filter.length > MAX_FILTER_LENGTH) {
    throw badRequest(`The filter is longer than ${MAX_FILTER_LENGTH} characters`, 'invalidFilter');
  }
  const quick = simpleEq(filter, vocabulary);
  if (quick) return quick;
  const branches = parseWithScimmy(filter);
  if (branches.length !== 1) throw badRequest(`"or" filters are not supported (${supported})`, 'invalidFilter');
  const terms: EqTerm[] = [];
  const visit = (node: Record<string, unknown>, prefix: string, type?: string) => {
    for (const [attr, cond] of Object.entries(node)) {
      const path = `${prefix}${attr.toLowerCase()}`;
      if (cond && typeof cond === 'object' && !Array.isArray(cond)) {
        // A complex attribute: `emails[type eq "work"].value eq x` arrives as {type: [eq, work], value: [eq, x]}.
        const sub = { ...(cond as Record<string, unknown>) };
        let elementType = type;
        const typeConds = conditions(sub.type);
        if (typeConds.length === 1 && typeConds[0]![0] === 'eq' && typeof typeConds[0]![1] === 'string' && `${path}.value` in vocabulary) {
          elementType = typeConds[0]![1];
          delete sub.type;
        }
        visit(sub, `${path}.`, elementType);
        continue;
      }
      const key = vocabulary[path];
      if (!key) throw badRequest(`Filtering on "${path}" is not supported (${supported})`, 'invalidFilter');
      for (const [op, value, ...rest] of conditions(cond)) {
        if (op !== 'eq' || rest.length > 0) throw badRequest(`Operator "${op}" is not supported (${supported})`, 'invalidFilter');
        if (typeof value !== 'string' && typeof value !== 'boolean') {
          throw badRequest(`"${path} eq" needs a string or boolean value`, 'invalidFilter');
        }
        terms.push({ key, value, ...(type !== undefined && key.includes('.') ? { type } : {}) });
      }
    }
  };
  visit(branches[0] as Record<string, unknown>, '');
  if (terms.length === 0) throw badRequest(`The filter has no condition (${supported})`, 'invalidFilter');
  return terms;
}
