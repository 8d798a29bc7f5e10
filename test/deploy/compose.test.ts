import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARS, SECRET_VARS } from '../../src/config/schema.js';

const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<string, { environment?: Record<string, string>; secrets?: string[]; healthcheck?: { test: string[] }; command?: string[]; image?: string }>;
  secrets?: Record<string, { environment?: string; file?: string }>;
};
const KNOWN = new Set([...Object.keys(ENV_VARS), ...SECRET_VARS.map((v) => `${v}_FILE`), 'CONFIG_FILE']);

/** No compose engine pulls images here: the file is checked as compose would read it. */
describe('docker-compose.yml', () => {
  it('the bridge reads every variable it is given, and its FullStory token comes as a secret file', () => {
    const bridge = compose.services.bridge!;
    expect(Object.keys(bridge.environment ?? {}).filter((k) => !KNOWN.has(k))).toEqual([]);
    expect(bridge.environment?.FULLSTORY_SCIM_TOKEN).toBeUndefined();
    const file = bridge.environment?.FULLSTORY_SCIM_TOKEN_FILE;
    expect(file).toMatch(/^\/run\/secrets\//);
    const secret = file!.split('/').pop()!;
    expect(bridge.secrets).toContain(secret);
    expect(compose.secrets?.[secret]).toBeDefined();
  });

  it('each service with a health check probes an endpoint the bridge or the sandbox serves', () => {
    const probes = Object.entries(compose.services).flatMap(([name, s]) => (s.healthcheck ? [[name, s.healthcheck.test.join(' ')] as const] : []));
    expect(probes.length).toBeGreaterThan(0);
    for (const [name, test] of probes) expect(test, name).toMatch(/pg_isready|\/healthz|\/_sandbox\/counters/);
  });

  it('the sandbox service runs the sandbox verb with flags the CLI takes', () => {
    const cmd = compose.services.sandbox!.command!;
    expect(cmd[0]).toBe('sandbox');
    const flags = cmd.filter((a) => a.startsWith('--'));
    const usage = readFileSync(new URL('../../src/cli/index.ts', import.meta.url), 'utf8');
    for (const f of flags) expect(usage).toContain(f);
  });
});
