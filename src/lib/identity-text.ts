/**
 * Text that names a person (a userName, an email address): one person, one spelling.
 *
 * - Stored and sent as written, but in Unicode NFC and without surrounding white space, so
 *   `josé` typed as e + combining accent is the same teammate as the precomposed one.
 * - Refused when it holds a character nobody can see or that reorders what is seen:
 *   controls (CR, LF, tab, C1), format characters (zero-width space and joiners, bidi
 *   overrides and isolates, soft hyphen, BOM) and line or paragraph separators.
 * - Compared through a key that also folds compatibility forms (NFKC: full-width `ｊｏｓé`
 *   is `josé`) and case, so every such twin meets the same uniqueness constraint.
 */

const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** NFC, trimmed. */
export function identityText(value: string): string {
  return value.normalize('NFC').trim();
}

/** What makes a name (already trimmed) unacceptable, in words, or undefined when it is fine. */
export function identityProblem(value: string): string | undefined {
  const m = INVISIBLE.exec(value);
  if (!m) return undefined;
  const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `contains U+${code}, an invisible or control character`;
}

/** The uniqueness and lookup key: trimmed, NFKC and case folded. */
export function identityKey(value: string): string {
  return value.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
}
