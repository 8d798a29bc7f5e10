import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every function, method, constructor and arrow in a file, with its length in lines. */
function functions(path: string): { name: string; line: number; lines: number }[] {
  const sf = ts.createSourceFile(path, readFileSync(join(ROOT, path), 'utf8'), ts.ScriptTarget.Latest, true);
  const out: { name: string; line: number; lines: number }[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const from = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const to = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = 'name' in n && n.name ? (n.name as ts.Node).getText(sf) : '(anonymous)';
      out.push({ name, line: from + 1, lines: to - from + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const files = [...sources('src'), ...sources('bench')];

describe('the house stays small enough to read', () => {
  it('no file in src or bench is over 350 lines', () => {
    const long = files.map((f) => [relative('.', f), readFileSync(join(ROOT, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 350);
    expect(long).toEqual([]);
  });

  it('no function in src or bench is over 80 lines', () => {
    const long = files.flatMap((f) =>
      functions(f)
        .filter((fn) => fn.lines > 80)
        .map((fn) => `${f}:${fn.line} ${fn.name} (${fn.lines} lines)`),
    );
    expect(long).toEqual([]);
  });

  it('the README stays a user guide (about 250 lines at most); the rest is in docs/', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(250);
  });
});
