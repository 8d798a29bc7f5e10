import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ENV_VARS } from '../../src/config/schema.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the README config reference', () => {
  const cfg = loadConfig({});
  const get = (path: string) => path.split('.').reduce<any>((o, k) => o?.[k], cfg);

  it.each(Object.entries(ENV_VARS))('documents %s with its key and its real default', (name, { path }) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    expect(row, `README row for ${name}`).toBeDefined();
    expect(row).toContain(`\`${path}\``);
    const value = get(path);
    const shown = value === undefined ? '(unset)' : `\`${Array.isArray(value) ? JSON.stringify(value) : String(value)}\``;
    expect(row).toContain(shown);
  });
});
