import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unknownEnvWarnings } from '../../src/config/known.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { runCli } from '../helpers/cli.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fsb-typo-')), 'bridge.yaml');
  writeFileSync(file, text);
  return file;
}
const failure = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('the configuration refuses what it does not know', () => {
  it('an unknown key in the role mapping is an error naming the key, the file and line, and the key meant', () => {
    const file = yamlFile('roles:\n  defualt: standard\n  group:\n    Admins: admin\n');
    const message = failure(() => loadConfig({ CONFIG_FILE: file }));
    expect(message).toContain(`roles.defualt (${file}:2): not a setting; did you mean \`default\`?`);
    expect(message).toContain(`roles.group (${file}:3): not a setting; did you mean \`groups\`?`);
  });

  it.each([
    ['at the top', 'serverr:\n  port: 9000\n', 'serverr', 1, 'server'],
    ['two levels down', 'server:\n  tls:\n    certFiel: /x.pem\n', 'server.tls.certFiel', 3, 'certFile'],
    ['in the guard', 'guard:\n  maxDeprovision: 5\n', 'guard.maxDeprovision', 2, 'maxDeprovisions'],
    ['in a token entry', "idp:\n  tokens:\n    - name: okta\n      sha256: '" + 'a'.repeat(64) + "'\n      sha: x\n", 'idp.tokens.0.sha', 5, 'sha256'],
  ])('an unknown key %s is refused with its line and suggestion', (_where, text, key, line, meant) => {
    const file = yamlFile(text);
    const message = failure(() => loadConfig({ CONFIG_FILE: file }));
    expect(message).toContain(`${key} (${file}:${line}): not a setting; did you mean \`${meant}\`?`);
  });

  it('the names of mapped IdP groups are free: any group name is a key, not a typo', () => {
    const file = yamlFile('roles:\n  groups:\n    "FullStory Admins": admin\n    defualt: standard\n');
    expect(loadConfig({ CONFIG_FILE: file }).roles.groups).toEqual({ 'FullStory Admins': 'admin', defualt: 'standard' });
  });

  it('a YAML indentation error points at its line', () => {
    const file = yamlFile('roles:\n  groups:\n    Admins: admin\n   Engineering: architect\n');
    expect(failure(() => loadConfig({ CONFIG_FILE: file }))).toMatch(new RegExp(`CONFIG_FILE ${file} is not valid YAML at line 4, column \\d+: `));
  });

  it('an environment variable with one of the bridge’s prefixes that it does not know is warned about, with the closest name', () => {
    const warnings = unknownEnvWarnings({
      FULLSTORY_SCIM_TOKN: 'x',
      GUARD_MAX_DEPROVISION: '3',
      IDP_TOKENS_FILE: '/x',
      HOME: '/root',
      FULLSTORY_SCIM_TOKEN: 'y',
    });
    expect(warnings).toEqual([
      'environment variable FULLSTORY_SCIM_TOKN is not a setting of the bridge and is ignored; did you mean FULLSTORY_SCIM_TOKEN?',
      'environment variable GUARD_MAX_DEPROVISION is not a setting of the bridge and is ignored; did you mean GUARD_MAX_DEPROVISIONS?',
    ]);
  });

  it('check says FAIL for a typo in the file (exit 1) and WARN for an unknown variable', async () => {
    const bad = await runCli(['check'], { CONFIG_FILE: yamlFile('roles:\n  defualt: standard\n') });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL {2}config: Invalid configuration:/);
    expect(bad.stdout).toContain('did you mean `default`?');
    expect(bad.stdout).not.toMatch(/OK {4}config/);
    const warned = await runCli(['check'], { FULLSTORY_SCIM_TOKN: 'x' });
    expect(warned.stdout).toContain(
      'WARN  config: environment variable FULLSTORY_SCIM_TOKN is not a setting of the bridge and is ignored; did you mean FULLSTORY_SCIM_TOKEN?',
    );
  });
});

describe('a mapping change is announced before anything is queued', () => {
  it('a restart whose mapping demotes more users than GUARD_MAX_DEPROVISIONS warns with the count', async () => {
    const { startTestBridge, dataPlace, G, GROUP_SCHEMA, U, oktaUser } = await import('../helpers/bridge.js');
    const { where, remove } = await dataPlace('sqlite');
    try {
      const first = await startTestBridge({ ...where, config: { roles: { groups: { Admins: 'admin' } }, guard: { maxDeprovisions: 2 } } });
      const ids = [];
      for (const n of ['m1', 'm2', 'm3']) ids.push((await first.req('POST', U, oktaUser(`${n}@okta.local`))).body.id);
      await first.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Admins', members: ids.map((value) => ({ value })) });
      await first.close();
      // "Admins" mistyped in the new mapping: every admin would be demoted.
      const second = await startTestBridge({ ...where, startWorker: false, config: { roles: { groups: { Admin: 'admin' } }, guard: { maxDeprovisions: 2 } } });
      const line = second
        .logs()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; msg: string; changes?: number; demotions?: number })
        .find((l) => l.msg.startsWith('role mapping changed'));
      await second.close();
      expect(line).toMatchObject({ level: 40, changes: 3, demotions: 3 });
      expect(line!.msg).toMatch(/3 users' roles will change \(3 demotions\), more than GUARD_MAX_DEPROVISIONS allows/);
    } finally {
      await remove();
    }
  });
});

describe('the config files the project ships', () => {
  it.each(['deploy/kubernetes/base/bridge.yaml', 'docker/bridge.yaml'])('%s loads under the strict schema', (file) => {
    const path = new URL(`../../${file}`, import.meta.url).pathname;
    expect(() => loadConfig({ CONFIG_FILE: path, FULLSTORY_SCIM_TOKEN: 'x' })).not.toThrow();
  });
});
