import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { ConfigError } from '../config/load.js';
import { flagName, parseGroupRoles, parseSwitch, PROFILES, SWITCHES, type ProfileName } from '../sandbox/profile.js';
import { startSandbox } from '../sandbox/server.js';

/** `sandbox`: FullStory's SCIM simulator on its own, every switch of docs/sandbox.md a flag. */
export async function sandbox(args: string[]): Promise<void> {
  const switchFlags = Object.fromEntries(Object.keys(SWITCHES).map((k) => [flagName(k), { type: 'string' as const }]));
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8081' },
      host: { type: 'string', default: '127.0.0.1' },
      profile: { type: 'string', default: 'default' },
      token: { type: 'string' },
      'scim-disabled': { type: 'boolean', default: false },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'rate-headers': { type: 'boolean', default: false },
      'fail-rate': { type: 'string' },
      'reset-rate': { type: 'string' },
      'hang-rate': { type: 'string' },
      'hang-ms': { type: 'string' },
      'latency-ms': { type: 'string' },
      'group-roles': { type: 'string' },
      ...switchFlags,
    },
  });
  if (!(values.profile! in PROFILES)) throw new ConfigError(`--profile is one of ${Object.keys(PROFILES).join(', ')}`);
  const profile = PROFILES[values.profile as ProfileName];
  const num = (name: string) => {
    const v = values[name as keyof typeof values] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${name} takes a non-negative number`);
    return n;
  };
  const rate = num('rate');
  const burst = num('burst');
  const headers = values['rate-headers'] || (profile.rateLimit?.headers ?? false);
  const rateLimit =
    rate === 0
      ? null
      : rate !== undefined || burst !== undefined || values['rate-headers']
        ? { perSecond: rate ?? 16, burst: burst ?? 50, headers }
        : profile.rateLimit;
  const switches: Record<string, unknown> = {};
  for (const key of Object.keys(SWITCHES) as (keyof typeof SWITCHES)[]) {
    const text = values[flagName(key) as keyof typeof values] as string | undefined;
    if (text === undefined) continue;
    const parsed = parseSwitch(key, text);
    if ('error' in parsed) throw new ConfigError(parsed.error);
    switches[key] = parsed.value;
  }
  if (values['group-roles'] !== undefined) {
    const parsed = parseGroupRoles(values['group-roles']);
    if ('error' in parsed) throw new ConfigError(parsed.error);
    switches.groupRoles = parsed.value;
  }
  const faults = Object.fromEntries(
    (['fail-rate', 'reset-rate', 'hang-rate', 'hang-ms', 'latency-ms'] as const).flatMap((f) => {
      const n = num(f);
      return n === undefined ? [] : [[f.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()), n]];
    }),
  );
  const sb = await startSandbox({
    profile: values.profile as ProfileName,
    port: Number(values.port),
    host: values.host!,
    ...(values.token ? { token: values.token } : {}),
    patch: { ...switches, rateLimit, ...(values['scim-disabled'] ? { scimEnabled: false } : {}), faults },
  });
  process.stdout.write(`FullStory SCIM sandbox (${values.profile} profile) at ${sb.url}\ntoken: ${sb.token}\n`);
  closeWithGrace({ delay: 2000 }, async () => sb.close());
}
