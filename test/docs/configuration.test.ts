import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ENV_VARS } from '../../src/config/schema.js';

const reference = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the configuration reference (docs/configuration.md)', () => {
  const cfg = loadConfig({});
  const get = (path: string) => path.split('.').reduce<any>((o, k) => o?.[k], cfg);

  it.each(Object.entries(ENV_VARS))('documents %s with its key and its real default', (name, { path }) => {
    const row = reference.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    expect(row, `docs/configuration.md row for ${name}`).toBeDefined();
    expect(row).toContain(`\`${path}\``);
    const value = get(path);
    const shown = value === undefined ? '(unset)' : `\`${Array.isArray(value) ? JSON.stringify(value) : String(value)}\``;
    expect(row).toContain(shown);
  });
});

describe('the README is for users', () => {
  it('stays short (about 250 lines) and links every document in docs/', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(260);
    for (const doc of ['operations', 'configuration', 'security', 'architecture', 'fullstory-scim', 'sandbox', 'benchmarks'])
      expect(readme).toContain(`(docs/${doc}.md)`);
  });
});
