import type { z } from 'zod';
import { configSchema, ENV_VARS, SECRET_VARS } from './schema.js';

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; shape?: Record<string, z.ZodType>; element?: z.ZodType };
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The keys the schema knows at a config path (`roles` -> default, delivery, groups, precedence); empty where keys are free (a record). */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let node: z.ZodType | undefined = configSchema;
  for (const key of [...path, null]) {
    // Defaults, prefaults and transforms wrap the object that holds the keys.
    for (let def = defOf(node!); def.innerType || def.type === 'pipe'; def = defOf(node!)) node = def.innerType ?? def.in;
    let def = defOf(node!);
    // A list's index names an element: its keys are the element's.
    if (def.type === 'array' && key !== null && typeof key !== 'symbol' && /^\d+$/.test(String(key))) {
      node = def.element;
      continue;
    }
    if (def.type === 'array') {
      node = def.element!;
      def = defOf(node);
    }
    if (def.type !== 'object' || !def.shape) return [];
    if (key === null) return Object.keys(def.shape);
    node = def.shape[String(key)];
    if (!node) return [];
  }
  return [];
}

/** Edit distance, for "did you mean": a typo is one or two edits from what was meant. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known name closest to `name`, when it is close enough to be a typo of it. */
export function closest(name: string, known: readonly string[]): string | undefined {
  // A name cut short (`sha` for `sha256`) is a typo too.
  const lower = name.toLowerCase();
  const prefixed = known.filter((k) => lower.length >= 3 && k.toLowerCase().startsWith(lower));
  if (prefixed.length === 1) return prefixed[0];
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = distance(name, k);
    if (!best || d < best.d) best = { k, d };
  }
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.k : undefined;
}

/** Prefixes that mark an environment variable as the bridge's own. */
const PREFIXES = [
  'FULLSTORY_',
  'IDP_',
  'OPS_',
  'GUARD_',
  'AUDIT_',
  'TLS_',
  'BRIDGE_',
  'ROLE_',
  'ROLES_',
  'INDEX_',
  'SYNC_',
  'STARTUP_',
  'SANDBOX_',
  'DATABASE_',
  'AUTH_',
  'DEFAULT_ROLE',
  'PLAN_',
  'NOTIFY_',
];

/** Every variable the bridge reads: the settings, their `_FILE` twins, and CONFIG_FILE. */
export const KNOWN_ENV = new Set([...Object.keys(ENV_VARS), ...SECRET_VARS.map((s) => `${s}_FILE`), 'CONFIG_FILE']);

/**
 * Variables that look like the bridge's (one of its prefixes) but are none of its
 * settings: a typo (`FULLSTORY_SCIM_TOKN`) would otherwise be ignored in silence.
 */
export function unknownEnvWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = [...KNOWN_ENV];
  return Object.keys(env)
    .filter((name) => !KNOWN_ENV.has(name) && PREFIXES.some((p) => name.startsWith(p)))
    .sort()
    .map((name) => {
      const near = closest(name, known);
      return `environment variable ${name} is not a setting of the bridge and is ignored${near ? `; did you mean ${near}?` : ''}`;
    });
}
