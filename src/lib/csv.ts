/**
 * CSV that is safe to open (RFC 4180 and OWASP's CSV-injection advice): every field with
 * a CR, LF, quote or comma is quoted (quotes doubled), so no value can end a row or start
 * a forged one for any reader; a field that a spreadsheet would run as a formula (it
 * begins with `=`, `+`, `-`, `@`, a tab or a CR) is prefixed with `'` and read as text.
 * Lossless export is JSONL's job, not this one's.
 */
const FORMULA = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row, CRLF-terminated as RFC 4180 has it. */
export function csvRow(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
