import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createBridge } from '../../src/bridge.js';
import { loadConfig } from '../../src/config/load.js';
import { csvCell } from '../../src/lib/csv.js';
import { startSandbox } from '../../src/sandbox/server.js';
import { GROUP_SCHEMA, oktaUser } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';

/** An RFC 4180 reader that, unlike a naive one, honours quotes: what a careful reader sees. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted) {
      if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('the audit CSV is safe to open', () => {
  it.each([
    ['=cmd|" /C calc"!A0', `"'=cmd|"" /C calc""!A0"`],
    ['+1+1', "'+1+1"],
    ['-2', "'-2"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\r=1', `"'\r=1"`],
    ['a,b', '"a,b"'],
    ['line\nbreak', '"line\nbreak"'],
    ['bare\rCR', '"bare\rCR"'],
    ['plain', 'plain'],
  ])('the cell %j is written as %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('names chosen by an IdP cannot forge a row or become a formula, for any reader that splits on CR, LF or both', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fsb-csv-'));
    const sb = await startSandbox({ patch: { rateLimit: null } });
    const idp = 'csv-test-idp-token-0000000';
    const bridge = await createBridge(loadConfig({}, { fullstory: { url: sb.url, token: sb.token }, idp: { token: idp }, database: { dataDir } }), {
      logger: pino({ level: 'silent' }),
      sandbox: sb,
    });
    const auth = { authorization: `Bearer ${idp}`, 'content-type': 'application/scim+json' };
    try {
      expect(
        (await bridge.app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: oktaUser("+cmd|' /C calc'!A0@x.com") })).statusCode,
      ).toBe(201);
      const group = { schemas: [GROUP_SCHEMA], displayName: 'Evil\r2026-01-01,forged,POST,"=HYPERLINK(""http://x"")"\nnext' };
      expect((await bridge.app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: auth, payload: group })).statusCode).toBe(201);
    } finally {
      await bridge.close();
      await sb.close();
    }
    const csv = await runCli(['audit', '--since', '1h', '--format', 'csv'], { DATA_DIR: dataDir });
    rmSync(dataDir, { recursive: true, force: true });
    expect(csv.code, csv.stderr).toBe(0);
    const rows = parseCsv(csv.stdout);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.length === rows[0]!.length)).toBe(true);
    const subjects = rows.slice(1).map((r) => r[rows[0]!.indexOf('subject')]);
    expect(subjects).toEqual(["'+cmd|' /C calc'!A0@x.com", group0()]);
    // Every CR and LF inside a value sits inside quotes: a reader that splits lines first
    // still sees each row begin with a timestamp, not with forged text.
    const unquotedBreaks = csv.stdout
      .replace(/"(?:[^"]|"")*"/g, '""')
      .split(/\r\n/)
      .filter(Boolean);
    expect(unquotedBreaks).toHaveLength(3);
    expect(unquotedBreaks.slice(1).every((l) => /^\d{4}-\d\d-\d\dT/.test(l))).toBe(true);
  });
});

const group0 = () => 'Evil\r2026-01-01,forged,POST,"=HYPERLINK(""http://x"")"\nnext';
