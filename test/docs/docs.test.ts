import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((f) => {
    const p = join(dir, f);
    return statSync(join(ROOT, p)).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the documents stay true to the code', () => {
  it('every spec number the code cites (#N) is a row of docs/fullstory-scim.md', () => {
    const rows = new Set([...read('docs/fullstory-scim.md').matchAll(/^\| (\d+) \|/gm)].map((m) => m[1]));
    const cited = new Map<string, string>();
    for (const file of sources('src')) {
      // In comments and strings: "#10", "(#22)", "spec #23"; never a CSS colour (#222, #176b2c).
      for (const m of read(file).matchAll(/(?:^|[\s(,])#(\d{1,2})\b(?![0-9a-f])/gm)) cited.set(m[1]!, file);
    }
    expect(cited.size).toBeGreaterThan(10);
    for (const [n, file] of cited) expect(rows.has(n), `#${n} in ${file}`).toBe(true);
  });

  it('every path the architecture’s "where does my change go" table names exists', () => {
    const doc = read('docs/architecture.md');
    const table = doc.slice(doc.indexOf('| a change to | goes in |'), doc.indexOf('\n\n', doc.indexOf('| a change to | goes in |')));
    const paths = [...table.matchAll(/`([a-z0-9/._-]+)`/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(8);
    for (const p of paths) expect(existsSync(join(ROOT, 'src', p)), `src/${p}`).toBe(true);
  });
});
