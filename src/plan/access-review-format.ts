import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { csvRow } from '../lib/csv.js';
import type { ReviewHeader, ReviewRow } from './access-review.js';

export type ReviewFormat = 'csv' | 'jsonl' | 'html';

const COLUMNS: [keyof ReviewRow, string][] = [
  ['userName', 'userName'],
  ['displayName', 'display name'],
  ['active', 'active'],
  ['fullstoryRole', 'role in FullStory'],
  ['mappedRole', 'role the mapping wants'],
  ['grantedBy', 'IdP groups granting it'],
  ['winningGroup', 'group that wins'],
  ['managed', 'managed'],
  ['created', 'created'],
  ['lastChangedAt', 'last changed'],
  ['lastChangedBy', 'changed by'],
  ['drift', 'drift'],
  ['decision', 'held or rejected'],
];

const cell = (v: unknown) => (typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

function headerLines(h: ReviewHeader): [string, string][] {
  return [
    ['taken at', h.takenAt],
    ['FullStory', h.fullstory],
    ['mapping fingerprint', h.mappingFingerprint],
    ['role delivery', `${h.delivery} (verification: ${h.verification})`],
    ['teammates', String(h.teammates)],
    ...Object.entries(h.roles)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([role, n]) => [`role ${role}`, String(n)] as [string, string]),
  ];
}

const HTML_STYLE = `body{font:12px/1.35 system-ui,sans-serif;margin:1.2rem;color:#111}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #bbb;padding:.2rem .35rem;text-align:left;vertical-align:top}th{background:#f0f0f0}.drift{background:#fde8e8}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem}dt{font-weight:600}.sign{margin-top:2rem}
@media print{body{margin:0}thead{display:table-header-group}tr{break-inside:avoid}.sign{break-inside:avoid}}`;

export function htmlStart(h: ReviewHeader): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>FullStory access review ${esc(h.takenAt)}</title><style>${HTML_STYLE}</style></head><body>
<h1>FullStory access review</h1><dl>${headerLines(h)
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('')}</dl>
<table><thead><tr>${COLUMNS.map(([, t]) => `<th>${esc(t)}</th>`).join('')}</tr></thead><tbody>\n`;
}

export const htmlRow = (r: ReviewRow) => `<tr${r.drift ? ' class="drift"' : ''}>${COLUMNS.map(([k]) => `<td>${esc(cell(r[k]))}</td>`).join('')}</tr>\n`;

export const HTML_END = `</tbody></table><p class="sign">Reviewed by: ______________________ &nbsp; Date: ____________ &nbsp; Signature: ______________________</p></body></html>\n`;

/** The header block CSV carries before its table: one key,value row each, then a blank line. */
export const csvStart = (h: ReviewHeader) => `${headerLines(h).map(csvRow).join('')}\r\n${csvRow(COLUMNS.map(([, t]) => t))}`;
export const csvLine = (r: ReviewRow) => csvRow(COLUMNS.map(([k]) => cell(r[k])));

/**
 * Writes a review: the rows go to a file of their own as they come (nothing is held), the
 * header is counted on the way, and then header and rows are written to `out` in `format`.
 */
export async function writeReview(rows: AsyncIterable<ReviewRow>, header: ReviewHeader, format: ReviewFormat, out: Writable): Promise<ReviewHeader> {
  const dir = mkdtempSync(join(tmpdir(), 'fsb-review-'));
  try {
    const spool = createWriteStream(join(dir, 'rows.jsonl'));
    for await (const r of rows) {
      header.teammates++;
      header.roles[r.fullstoryRole] = (header.roles[r.fullstoryRole] ?? 0) + 1;
      if (!spool.write(`${JSON.stringify(r)}\n`)) await once(spool, 'drain');
    }
    spool.end();
    await once(spool, 'close');
    await put(out, format === 'csv' ? csvStart(header) : format === 'html' ? htmlStart(header) : `${JSON.stringify({ type: 'header', ...header })}\n`);
    for await (const line of createInterface({ input: createReadStream(join(dir, 'rows.jsonl')), crlfDelay: Infinity })) {
      const r = JSON.parse(line) as ReviewRow;
      await put(out, format === 'csv' ? csvLine(r) : format === 'html' ? htmlRow(r) : `${JSON.stringify({ type: 'teammate', ...r })}\n`);
    }
    if (format === 'html') await put(out, HTML_END);
    return header;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function put(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
