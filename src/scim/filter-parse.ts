import { badRequest } from './errors.js';
import { assertSafeName } from './safe-names.js';

/**
 * RFC 7644 §3.4.2.2's filter grammar as a tree:
 *
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")" / "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"  (and, as IdPs send it, `emails[type eq "work"].value eq "x"`)
 *   attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
 *
 * Written here because scimmy's parser, used before, rejects valid nested groupings and
 * loses a `not` inside an `and` of an `or` group.
 */
export type FilterNode = { and: FilterNode[] } | { or: FilterNode[] } | { not: FilterNode } | Comparison | ValuePath;

export interface Comparison {
  attr: string;
  op: CompareOp;
  value?: CompValue;
}

/** Elements of a multi-valued attribute matching `filter`, and then, if given, a comparison on their sub-attribute. */
export interface ValuePath {
  attr: string;
  filter: FilterNode;
  then?: Comparison;
}

export const isComparison = (n: FilterNode): n is Comparison => 'op' in n;
export const isValuePath = (n: FilterNode): n is ValuePath => 'filter' in n;

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le' | 'pr';
export type CompValue = string | number | boolean | null;

const OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr']);
const KEYWORDS = new Set(['and', 'or', 'not']);
/** Deeper than any real filter; a bound on a hostile one. */
const MAX_DEPTH = 32;

type Token = { kind: 'word' | 'sub' | 'string' | 'number' | 'punct'; text: string; value?: CompValue; at: number };

const TOKEN = /\s*(?:("(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.:])|([()[\]])|(\.[A-Za-z$][\w$-]*)|([A-Za-z$][\w$.:-]*)|(\S))/y;

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (TOKEN.lastIndex < filter.length && (m = TOKEN.exec(filter))) {
    const at = m.index + m[0].length - m[0].trimStart().length;
    if (m[1] !== undefined) {
      let value: string;
      try {
        value = JSON.parse(m[1]) as string;
      } catch {
        throw badRequest(`The filter has a malformed string literal, character ${at + 1}: ${m[1].slice(0, 40)}`, 'invalidFilter');
      }
      tokens.push({ kind: 'string', text: m[1], value, at });
    } else if (m[2] !== undefined) tokens.push({ kind: 'number', text: m[2], value: Number(m[2]), at });
    else if (m[3] !== undefined) tokens.push({ kind: 'punct', text: m[3], at });
    else if (m[4] !== undefined) tokens.push({ kind: 'sub', text: m[4].slice(1), at });
    else if (m[5] !== undefined) tokens.push({ kind: 'word', text: m[5], at });
    else if (m[6] !== undefined) {
      if (m[6] === '"') throw badRequest(`The filter has an unterminated string literal, character ${at + 1}`, 'invalidFilter');
      throw badRequest(`The filter has an unexpected "${m[6]}", character ${at + 1}`, 'invalidFilter');
    }
    if (m[0].trim() === '') break;
  }
  return tokens;
}

/** Attributes holding dates (RFC 7643 §3.1); `meta.lastModified gt "not-a-date"` is a malformed filter, not a string comparison. */
const DATE_ATTRS = /(^|[:.])meta\.(created|lastmodified)$/i;

function assertComparable(attr: string, v: Token): void {
  if (!DATE_ATTRS.test(attr)) return;
  if (v.kind !== 'string' || Number.isNaN(Date.parse(v.value as string))) {
    throw badRequest(`The filter compares ${attr} (a dateTime) with ${v.text.slice(0, 40)}, which is not a date, character ${v.at + 1}`, 'invalidFilter');
  }
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private word(t: Token | undefined, w: string): boolean {
    return t?.kind === 'word' && t.text.toLowerCase() === w;
  }

  private fail(what: string): never {
    const t = this.peek();
    throw badRequest(`The filter ${what} ${t ? `near "${t.text}", character ${t.at + 1}` : 'at its end'}`, 'invalidFilter');
  }

  private expect(punct: string): void {
    const t = this.peek();
    if (t?.kind !== 'punct' || t.text !== punct) this.fail(`needs "${punct}"`);
    this.i++;
  }

  parse(): FilterNode {
    if (this.tokens.length === 0) this.fail('is empty');
    const node = this.or();
    if (this.i < this.tokens.length) this.fail('has something left over');
    return node;
  }

  private nested<T>(run: () => T): T {
    if (++this.depth > MAX_DEPTH) throw badRequest(`The filter is nested more than ${MAX_DEPTH} deep`, 'invalidFilter');
    try {
      return run();
    } finally {
      this.depth--;
    }
  }

  /** Operands joined by one logical word (and binds tighter than or, as the grammar's order of calls makes it). */
  private joined(word: 'and' | 'or', operand: () => FilterNode): FilterNode {
    const parts = [operand()];
    while (this.word(this.peek(), word)) {
      this.i++;
      parts.push(operand());
    }
    if (parts.length === 1) return parts[0]!;
    return word === 'or' ? { or: parts } : { and: parts };
  }

  private or(): FilterNode {
    return this.joined('or', () => this.and());
  }

  private and(): FilterNode {
    return this.joined('and', () => this.unary());
  }

  private unary(): FilterNode {
    const t = this.peek();
    if (this.word(t, 'not')) {
      this.i++;
      this.expect('(');
      const inner = this.nested(() => this.or());
      this.expect(')');
      return { not: inner };
    }
    if (t?.kind === 'punct' && t.text === '(') {
      this.i++;
      const inner = this.nested(() => this.or());
      this.expect(')');
      return inner;
    }
    return this.attrExp();
  }

  private attrPath(): string {
    const t = this.peek();
    if (t?.kind !== 'word' || KEYWORDS.has(t.text.toLowerCase()) || OPS.has(t.text.toLowerCase())) this.fail('needs an attribute');
    assertSafeName(t.text, 'The filter', 'invalidFilter');
    this.i++;
    return t.text;
  }

  private comparison(attr: string): { attr: string; op: CompareOp; value?: CompValue } {
    const t = this.peek();
    const op = t?.kind === 'word' ? t.text.toLowerCase() : '';
    if (!OPS.has(op)) this.fail(`needs an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "${attr}"`);
    this.i++;
    if (op === 'pr') return { attr, op: 'pr' };
    const v = this.peek();
    if (v?.kind === 'string' || v?.kind === 'number') {
      this.i++;
      assertComparable(attr, v);
      return { attr, op: op as CompareOp, value: v.value! };
    }
    if (v?.kind === 'word' && ['true', 'false', 'null'].includes(v.text.toLowerCase())) {
      this.i++;
      const lc = v.text.toLowerCase();
      if (lc !== 'null') assertComparable(attr, v);
      return { attr, op: op as CompareOp, value: lc === 'null' ? null : lc === 'true' };
    }
    return this.fail(`needs a value after "${attr} ${op}"`);
  }

  private attrExp(): FilterNode {
    const attr = this.attrPath();
    const t = this.peek();
    if (t?.kind === 'punct' && t.text === '[') {
      this.i++;
      const filter = this.nested(() => this.or());
      this.expect(']');
      const sub = this.peek();
      if (sub?.kind === 'sub') {
        assertSafeName(sub.text, 'The filter', 'invalidFilter');
        this.i++;
        return { attr, filter, then: this.comparison(sub.text) };
      }
      return { attr, filter };
    }
    return this.comparison(attr);
  }
}

/** The filter as a tree, or 400 invalidFilter saying where it goes wrong. */
export function parseFilterTree(filter: string): FilterNode {
  return new Parser(tokenize(filter)).parse();
}
