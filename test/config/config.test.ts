import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fsb-config-')), 'bridge.yaml');
  writeFileSync(file, text);
  return file;
}

describe('config', () => {
  it('every default is filled in from an empty environment', () => {
    const cfg = loadConfig({});
    expect(cfg.server).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(cfg.fullstory.url).toBe('https://api.fullstory.com/scim/v2');
    expect(cfg.database).toEqual({ dataDir: './data' });
    expect(cfg.roles).toEqual({ delivery: 'auto', default: 'standard', precedence: ['admin', 'architect', 'standard', 'explorer', 'guest'], groups: {} });
  });

  it('the environment overrides the YAML file, which overrides the defaults', () => {
    const file = yamlFile(
      'server:\n  port: 9000\nfullstory:\n  plan: business\nroles:\n  delivery: roles-attribute\n  default: standard\n  groups:\n    "FS Admins": admin\n    Engineering: standard\n',
    );
    const cfg = loadConfig({ CONFIG_FILE: file, PORT: '9100', IDP_TOKENS: 'okta:' + 'a'.repeat(64) + ',entra:' + 'b'.repeat(64) });
    expect(cfg.server.port).toBe(9100);
    expect(cfg.fullstory.plan).toBe('business');
    expect(cfg.roles.groups).toEqual({ 'FS Admins': 'admin', Engineering: 'standard' });
    expect(cfg.idp.tokens.map((t) => t.name)).toEqual(['okta', 'entra']);
  });

  it('a bad value fails with a message naming the field and where it came from', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/server\.port \(from PORT\)/);
    expect(() => loadConfig({ IDP_TOKENS: 'okta:nothex' })).toThrow(/idp\.tokens\.0\.sha256 \(from IDP_TOKENS\)/);
    expect(() => loadConfig({ FULLSTORY_SCIM_URL: 'ftp://x' })).toThrow(/fullstory\.url/);
  });

  it('a role the FullStory plan lacks is a startup error naming the group and the role', () => {
    const file = yamlFile('fullstory:\n  plan: business\nroles:\n  groups:\n    Engineering: architect\n');
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(
      /roles\.groups\.Engineering.*group "Engineering" maps to role "architect", which the FullStory business plan does not offer/s,
    );
    expect(() => loadConfig({ FULLSTORY_PLAN: 'data-direct' })).toThrow(/default role "standard" is not offered by the FullStory data-direct plan/);
  });

  it('group names that differ only in case are refused, since they match case-insensitively', () => {
    const file = yamlFile('roles:\n  groups:\n    Admins: admin\n    ADMINS: guest\n');
    expect(() => loadConfig({ CONFIG_FILE: file })).toThrow(/differ only in case/);
  });

  it('an unreadable or malformed file says so', () => {
    expect(() => loadConfig({ CONFIG_FILE: '/nonexistent/bridge.yaml' })).toThrow(/Cannot read CONFIG_FILE/);
    expect(() => loadConfig({ CONFIG_FILE: yamlFile('roles: [unclosed') })).toThrow(/not valid YAML/);
  });
});
