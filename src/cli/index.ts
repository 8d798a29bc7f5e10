#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { createBridge } from '../bridge.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { openStore } from '../core-steps.js';
import { checkFullStory, PreflightError } from '../fullstory/upstream.js';
import { PLAN_WORD_KEY, planMessage, type PlanWordFacts } from '../fullstory/plan-word.js';
import { makeLogger } from '../logging.js';
import { apply, plan, reconcile } from './plan.js';
import { holds, reject, release } from './holds.js';
import { sha256 } from '../lib/hash.js';
import { sandbox } from './sandbox.js';
import { accessReview } from './access-review.js';
import { DEFAULT_ROLE_ATTRIBUTE, samlRolesText } from '../provisioning/saml-roles.js';
import { csvRow } from '../lib/csv.js';
import { hardenPrototypes } from '../lib/harden.js';
import { unknownEnvWarnings } from '../config/known.js';
import type { Config } from '../config/schema.js';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION } from '../lib/version.js';

const USAGE = `fullstory-scim-bridge <command>

  serve                    run the bridge (the default; env and CONFIG_FILE as in docs/configuration.md)
  --version                print the version
  check                    preflight FullStory with the server's env; exit 0 only when all is well
  token [--name N]         print a new random IdP token and its IDP_TOKENS entry
  audit [--since 1h] [--format jsonl|csv]
                           print the audit log
  plan [--format text|json]
                           what going live (or repairing drift) would change in FullStory:
                           exit 0 nothing to change, 2 changes to make, 1 error
  apply [--format text|json]
                           carry the plan out within the rate budget; rerun to resume
  holds [--format text|json]
                           changes the guard holds: deprovisionings, grants waiting for approval
  release --all | ID...    carry held changes out (approve them)
  reject --all | ID... [--reason TEXT]
                           refuse held changes: never applied, recorded with who and why
  reconcile [--dry-run]    roles only (plan and apply cover it): compare FullStory's roles with
                           the mapping's, queue the fixes; exit 1 when roles differ
  access-review [--format csv|jsonl|html] [--out FILE]
                           every FullStory teammate: role in FullStory, role the mapping wants, the
                           IdP groups granting it, managed or not, last change and by whom, drift
  saml-roles --idp okta|entra [--attribute NAME]
                           roles through SSO: print the IdP's SAML configuration that gives each user
                           the role the mapping gives (same groups, precedence and default)
  sandbox [--port N] [--host H] [--profile default|strict] [--token T] [--scim-disabled]
          [--rate N] [--burst N] [--rate-headers] [--fail-rate F] [--reset-rate F]
          [--hang-rate F] [--hang-ms N] [--latency-ms N]
          [--<switch> VALUE ...]  one flag per switch of the spec, e.g. --role-delivery role-groups,
                           --filters userName-only, --max-page 20, --put-users replace,
                           --role-form strings, --roles-where-groups refuse, --role-groups preexisting,
                           --role-delivery sso, --group-roles "Eng Admins=admin,Analysts=explorer"
                           run the FullStory SCIM sandbox on its own
`;

async function serve(): Promise<void> {
  const config = loadConfig();
  // Before anything is started or printed: a port in use is a plain sentence, not a stack trace after a banner.
  await assertPortFree(config.server.host, config.server.port);
  const logger = makeLogger(config);
  for (const w of unknownEnvWarnings(process.env)) logger.warn(w);
  const bridge = await createBridge(config, { logger });
  const address = await bridge.app.listen({ host: config.server.host, port: config.server.port });
  const local = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  logger.info({ scimBaseUrl: `${local}/scim/v2` }, 'fullstory-scim-bridge listening');
  if (bridge.demo) {
    const lines = [
      '',
      '  DEMO MODE: provisioning goes to the built-in FullStory SANDBOX, not to FullStory.',
      `  SCIM base URL : ${local}/scim/v2`,
      bridge.demo.idpToken ? `  IdP token     : ${bridge.demo.idpToken}` : '  IdP token     : the one you set in IDP_TOKEN / IDP_TOKENS',
      `  Try it        : curl -H "Authorization: Bearer <token>" ${local}/scim/v2/Users`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  // SIGHUP: re-read CONFIG_FILE, the IdP tokens (and their _FILE twins) and the TLS pair; other settings need a restart.
  process.on('SIGHUP', () => {
    bridge.reloadTls('SIGHUP');
    try {
      const names = bridge.reloadTokens(loadConfig());
      logger.info({ tokens: names }, 'IdP tokens reloaded');
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'IdP token reload failed; the current tokens stay');
    }
  });
  closeWithGrace({ delay: config.server.shutdownGraceMs, logger, skip: ['SIGHUP'] }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    else logger.info({ signal }, 'shutting down');
    await bridge.close();
  });
}

/** Binds and lets go of HOST:PORT, so that one in use is said plainly before the bridge starts. */
async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new ConfigError(`PORT ${port} on HOST ${host} is already in use by another process: stop it, or set PORT (or HOST) to another value`)
          : err.code === 'EACCES'
            ? new ConfigError(`PORT ${port} on HOST ${host} may not be opened by this user (ports below 1024 need privileges): set PORT to 1024 or above`)
            : err.code === 'EADDRNOTAVAIL'
              ? new ConfigError(`HOST ${host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all`)
              : err,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

async function check(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stdout.write(`FAIL  config: ${err.message.replace(/\n/g, '\n      ')}\n`);
    return 1;
  }
  for (const w of unknownEnvWarnings(process.env)) process.stdout.write(`WARN  config: ${w}\n`);
  if (!config.fullstory.token) {
    process.stdout.write('FAIL  config: FULLSTORY_SCIM_TOKEN is not set (the server would run the demo sandbox).\n');
    return 1;
  }
  const result = await checkFullStory(config);
  process.stdout.write(`OK    config: role mapping is valid for the ${config.fullstory.plan} plan\n`);
  for (const c of result.checks) process.stdout.write(`${c.ok ? (c.warn ? 'WARN' : 'OK  ') : 'FAIL'}  ${c.name}: ${c.message}\n`);
  const word = await recordedPlanWord(config);
  if (word) process.stdout.write(`FAIL  plan: ${planMessage(word)}\n`);
  return result.ok && !word ? 0 : 1;
}

/** FullStory's word on its plan as the server recorded it, where it still stands for the configured plan. */
async function recordedPlanWord(config: Config): Promise<PlanWordFacts | undefined> {
  // No database yet (SQLite): nothing was recorded, and check makes none.
  if (!config.database.url && !existsSync(join(config.database.dataDir, 'bridge.sqlite'))) return undefined;
  const store = await openStore(config).catch(() => undefined);
  if (!store) return undefined;
  try {
    const text = await store.read((r) => r.kv.get(PLAN_WORD_KEY));
    const facts = text ? (JSON.parse(text) as PlanWordFacts) : undefined;
    return facts?.configured === config.fullstory.plan ? facts : undefined;
  } finally {
    await store.close();
  }
}

function samlRoles(args: string[]): number {
  const { values } = parseArgs({ args, options: { idp: { type: 'string' }, attribute: { type: 'string', default: DEFAULT_ROLE_ATTRIBUTE } } });
  if (values.idp !== 'okta' && values.idp !== 'entra') throw new ConfigError('saml-roles needs --idp okta or --idp entra');
  const config = loadConfig();
  try {
    process.stdout.write(samlRolesText(values.idp, config.roles, values.attribute));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (config.roles.delivery !== 'sso')
    process.stderr.write(`note: roles.delivery is "${config.roles.delivery}", not "sso": the bridge also writes roles through SCIM.\n`);
  return 0;
}

function token(args: string[]): number {
  const { values } = parseArgs({ args, options: { name: { type: 'string', default: 'okta' } } });
  const value = randomBytes(32).toString('base64url');
  const hash = sha256(value).toString('hex');
  process.stdout.write(
    `token:  ${value}\nsha256: ${hash}\n\n` +
      `For an IdP (Okta, Entra): add  ${values.name}:${hash}  to IDP_TOKENS, and paste the token into the IdP's SCIM settings.\n` +
      `For the ops console:       add  ${values.name}:${hash}  to OPS_TOKENS, and give the token to the operator who signs in.\n` +
      'The token is shown only now; the bridge keeps only its hash.\n',
  );
  return 0;
}

function parseSince(since: string): Date {
  const m = /^(\d+)\s*([smhd])$/.exec(since);
  if (m) return new Date(Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's']);
  const d = new Date(since);
  if (Number.isNaN(d.getTime())) throw new ConfigError(`--since takes a duration (30m, 1h, 7d) or a date, not ${JSON.stringify(since)}`);
  return d;
}

async function audit(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { since: { type: 'string', default: '24h' }, format: { type: 'string', default: 'jsonl' } } });
  if (values.format !== 'jsonl' && values.format !== 'csv') throw new ConfigError('--format is jsonl or csv');
  const config = loadConfig();
  const store = await openStore(config);
  try {
    const since = parseSince(values.since!).toISOString();
    const rows = await store.read((r) => r.audit.since(since));
    if (values.format === 'jsonl') {
      for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    } else {
      const cols = [
        'at',
        'token_name',
        'user_agent',
        'method',
        'operation',
        'resource_type',
        'resource_id',
        'subject',
        'outcome',
        'status',
        'upstream_status',
        'detail',
      ] as const;
      process.stdout.write(csvRow(cols));
      for (const r of rows) process.stdout.write(csvRow(cols.map((c) => r[c])));
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function main(argv: string[]): Promise<number | undefined> {
  const [verb = 'serve', ...rest] = argv;
  switch (verb) {
    case 'serve':
      await serve();
      return undefined;
    case 'check':
      return check();
    case 'token':
      return token(rest);
    case 'audit':
      return audit(rest);
    case 'reconcile':
      return reconcile(rest);
    case 'plan':
      return plan(rest);
    case 'apply':
      return apply(rest);
    case 'holds':
      return holds(rest);
    case 'release':
      return release(rest);
    case 'reject':
      return reject(rest);
    case 'access-review':
      return accessReview(rest);
    case 'saml-roles':
      return samlRoles(rest);
    case 'sandbox':
      await sandbox(rest);
      return undefined;
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`fullstory-scim-bridge ${VERSION}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`Unknown command ${JSON.stringify(verb)}\n\n${USAGE}`);
      return 2;
  }
}

// Before any input is read: pollution that slipped past every check throws instead of spreading.
hardenPrototypes();
main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    // A flag no verb knows, or one without its value: a usage error in one sentence, as a ConfigError is.
    if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(err as Error).message.split('. ')[0]}; \`fullstory-scim-bridge --help\` lists each verb's flags\n`);
      process.exit(2);
    }
    if (err instanceof ConfigError || err instanceof PreflightError) {
      process.stderr.write(`${err instanceof PreflightError ? 'FullStory preflight failed:\n' : ''}${err.message}\n`);
      process.exit(err instanceof PreflightError ? 3 : 2);
    }
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
