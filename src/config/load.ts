import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { closest, knownKeysAt } from './known.js';
import { configSchema, ENV_VARS, SECRET_VARS, type Config } from './schema.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Raw = Record<string, unknown>;

function setPath(target: Raw, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Raw;
  }
  node[keys[keys.length - 1]!] = value;
}

/** IDP_TOKENS=name:hex,name:hex -> [{name, sha256}]; left as-is when malformed so zod names the field. */
function parseTokenList(value: string): unknown {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.lastIndexOf(':');
      return at < 0 ? { name: entry, sha256: '' } : { name: entry.slice(0, at), sha256: entry.slice(at + 1) };
    });
}

/**
 * A secret's value: from the variable, or from the file its `_FILE` twin names (a
 * Kubernetes or Docker secret), trailing newline trimmed. Both at once is an error.
 */
function secretValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return env[name];
  if (env[name] !== undefined && env[name] !== '') throw new ConfigError(`${name} and ${name}_FILE are both set; set one of them`);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`Cannot read ${name}_FILE ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Lists where an empty value is a setting (none), not an unset variable. */
const EMPTY_IS_NONE: readonly string[] = ['GUARD_APPROVE_ROLES'];

function envLayer(env: NodeJS.ProcessEnv): { raw: Raw; sources: Map<string, string> } {
  const raw: Raw = {};
  const sources = new Map<string, string>();
  for (const [name, { path }] of Object.entries(ENV_VARS)) {
    const value = (SECRET_VARS as readonly string[]).includes(name) ? secretValue(env, name) : env[name];
    if (value === undefined || (value === '' && !EMPTY_IS_NONE.includes(name))) continue;
    setPath(raw, path, name === 'IDP_TOKENS' || name === 'OPS_TOKENS' ? parseTokenList(value) : value);
    sources.set(path, name);
  }
  return { raw, sources };
}

/**
 * A `__proto__` key (a YAML or JSON file may hold one as data) would be dropped by the
 * merge below, or worse, set an object's prototype: it is refused, by where it stands.
 */
function refuseProtoKeys(value: unknown, where: string, path: string[] = []): void {
  if (!value || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    if (key === '__proto__')
      throw new ConfigError(`${where}: the key "__proto__" at ${[...path, key].join('.')} is not allowed (a group or setting cannot be named so)`);
    refuseProtoKeys((value as Raw)[key], where, [...path, key]);
  }
}

function merge(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b as Raw, v as Raw) : v;
  }
  return out;
}

/** Where a key stands in the YAML file, as `file:line`. */
type Locate = (path: readonly PropertyKey[]) => string | undefined;

/** Keys no setting has: each named with where it stands and the key it most likely meant. */
function describeUnknown(issue: z.core.$ZodIssue & { keys: string[] }, locate: Locate): string[] {
  const known = knownKeysAt(issue.path);
  return issue.keys.map((key) => {
    const full = [...issue.path.map(String), key].join('.');
    const near = closest(key, known);
    const at = locate([...issue.path, key]);
    return `  - ${full}${at ? ` (${at})` : ''}: not a setting${near ? `; did you mean \`${near}\`?` : ''}${known.length > 0 ? ` (known here: ${known.join(', ')})` : ''}`;
  });
}

function describeIssues(issues: z.core.$ZodIssue[], sources: Map<string, string>, file: string | undefined, locate: Locate): string {
  return issues
    .flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') return describeUnknown(issue as z.core.$ZodIssue & { keys: string[] }, locate);
      const path = issue.path.map(String).join('.');
      const envName = [...sources].find(([p]) => path === p || path.startsWith(`${p}.`))?.[1];
      const at = locate(issue.path);
      const where = envName ? ` (from ${envName})` : at ? ` (${at})` : file ? ` (from ${file} or defaults)` : '';
      return [`  - ${path || '(root)'}${where}: ${issue.message}`];
    })
    .join('\n');
}

/** The file's YAML read into a value, with a way to say where a key stands; a syntax error names its line. */
function readYaml(file: string, text: string): { value: unknown; locate: Locate } {
  // Loaded only when there is a file to read (about 9 MB otherwise kept for nothing).
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const lines = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const error = doc.errors[0];
  if (error) {
    const pos = error.linePos?.[0];
    throw new ConfigError(
      `CONFIG_FILE ${file} is not valid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
    );
  }
  const locate: Locate = (path) => {
    let node: unknown = doc.contents;
    let offset: number | undefined;
    for (const key of path) {
      if (yaml.isSeq(node)) {
        node = node.items[Number(key)];
        continue;
      }
      if (!yaml.isMap(node)) return undefined;
      const pair = node.items.find((p) => yaml.isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return undefined;
      offset = (pair.key as { range?: [number, number, number] }).range?.[0];
      node = pair.value;
    }
    return offset === undefined ? undefined : `${file}:${lines.linePos(offset).line}`;
  };
  return { value: doc.toJS() as unknown, locate };
}

/** Builds the config from CONFIG_FILE (YAML) and the environment; throws ConfigError naming each bad field. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Raw = {}): Config {
  let fileLayer: Raw = {};
  let locate: Locate = () => undefined;
  const file = env.CONFIG_FILE;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`Cannot read CONFIG_FILE ${file}: ${(err as Error).message}`);
    }
    const read = readYaml(file, text);
    fileLayer = (read.value as Raw | null) ?? {};
    locate = read.locate;
    if (typeof fileLayer !== 'object' || Array.isArray(fileLayer)) {
      throw new ConfigError(`CONFIG_FILE ${file} must hold a YAML mapping at the top level`);
    }
  }
  refuseProtoKeys(fileLayer, file ?? 'the configuration');
  refuseProtoKeys(overrides, 'the configuration');
  const { raw: envRaw, sources } = envLayer(env);
  const result = configSchema.safeParse(merge(merge(fileLayer, envRaw), overrides));
  if (!result.success) {
    throw new ConfigError(`Invalid configuration:\n${describeIssues(result.error.issues, sources, file, locate)}`);
  }
  return result.data;
}
