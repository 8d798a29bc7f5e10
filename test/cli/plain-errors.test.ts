import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the CLI runs as the README types it and says plainly what is wrong', () => {
  it('the new verbs refuse a wrong flag in one sentence and exit 2: access-review --format, saml-roles --idp', async () => {
    const review = await runCli(['access-review', '--format', 'xls']);
    expect([review.code, review.stderr.trim()]).toEqual([2, '--format is one of csv, jsonl, html']);
    const saml = await runCli(['saml-roles', '--idp', 'onelogin']);
    expect([saml.code, saml.stderr.trim()]).toEqual([2, 'saml-roles needs --idp okta or --idp entra']);
  });

  it('an unknown flag or a flag without its value, on any verb, is one sentence and exit 2, never a stack trace', async () => {
    for (const args of [
      ['reject', '--bogus'],
      ['release', '--everything'],
      ['holds', '--format'],
      ['reject', 'x', '--reason'],
    ]) {
      const r = await runCli(args);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 2]);
      expect(r.stderr).toMatch(/^(Unknown option|Option) '--\w+.*--help` lists each verb's flags\n$/s);
      expect(r.stderr).not.toMatch(/\bat \w+ \(/);
    }
  });

  it('--version prints the version and exits 0, and `npx fullstory-scim-bridge` runs it from a checkout', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    const direct = await runCli(['--version']);
    expect([direct.code, direct.stdout]).toEqual([0, `fullstory-scim-bridge ${version}\n`]);
    const viaNpx = await promisify(execFile)('npx', ['--no-install', 'fullstory-scim-bridge', '--version'], { cwd: ROOT, timeout: 60_000 });
    expect(viaNpx.stdout).toBe(`fullstory-scim-bridge ${version}\n`);
  });

  it('a port in use is one sentence naming PORT and HOST, before any banner, and exit 2', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const res = await runCli(['serve'], { PORT: String(port), HOST: '127.0.0.1' });
      expect(res.code).toBe(2);
      expect(res.stderr.trim()).toBe(`PORT ${port} on HOST 127.0.0.1 is already in use by another process: stop it, or set PORT (or HOST) to another value`);
      expect(res.stdout).not.toContain('DEMO MODE');
    } finally {
      taken.close();
    }
  });

  it('a raw token pasted into IDP_TOKENS is explained: name:sha256hex, and where `token` comes in', async () => {
    const res = await runCli(['check'], { IDP_TOKENS: 'not-a-hash-but-a-token' });
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('is name:sha256hex');
    expect(res.stdout).toContain('fullstory-scim-bridge token --name okta');
  });

  it('token --name says where the token and its entry go for an IdP and for the console, assuming neither', async () => {
    const res = await runCli(['token', '--name', 'ops']);
    expect(res.code).toBe(0);
    const hash = /^sha256: ([0-9a-f]{64})$/m.exec(res.stdout)![1];
    expect(res.stdout).toContain(`add  ops:${hash}  to IDP_TOKENS`);
    expect(res.stdout).toContain(`add  ops:${hash}  to OPS_TOKENS`);
    expect(res.stdout).not.toMatch(/^Give the token to the IdP/m);
  });
});
