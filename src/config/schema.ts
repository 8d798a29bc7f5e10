import { z } from 'zod';
import { webhookProblem } from './webhook-url.js';
import { PLAN_ROLES, PLANS, ROLES } from './roles.js';

/**
 * The one configuration schema. Every knob and its default lives here; the reference in
 * docs/configuration.md is checked against ENV_VARS by a test so the two cannot drift.
 * Sources, later wins: defaults < YAML file (CONFIG_FILE) < environment variables.
 */

const hex64 = /^[0-9a-f]{64}$/i;

const idpToken = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
  sha256: z
    .string()
    .regex(
      hex64,
      'each entry of IDP_TOKENS or OPS_TOKENS is name:sha256hex (a name, a colon, then the SHA-256 hash of the token as 64 hex characters), e.g. okta:9f86d081884c7d65...; the token itself never goes here. `fullstory-scim-bridge token --name okta` makes a token and prints its entry',
    ),
});

const roleName = z.enum(ROLES);

/** A list, from YAML or from a comma-separated env string. */
const commaList = z.union([z.array(z.string()), z.string()]).transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean));

/** Booleans from YAML or from env strings; z.coerce.boolean would read "false" as true. */
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1');

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        /** Large enough for a 10,000-member group PUT or PATCH from Entra (about 1.5 MB). */
        bodyLimitBytes: z.coerce
          .number()
          .int()
          .min(1024)
          .default(4 * 1024 * 1024),
        /** Requests slower than this are cut with 503; IdPs give up at 60 s. */
        requestTimeoutMs: z.coerce.number().int().min(1000).default(50_000),
        shutdownGraceMs: z.coerce.number().int().min(0).default(10_000),
        /**
         * Behind a TLS-terminating proxy: take the client address, scheme and host from
         * X-Forwarded-*. true trusts any proxy; a comma-separated list of addresses or CIDRs
         * trusts only those.
         */
        trustProxy: z
          .union([z.boolean(), z.string()])
          .transform((v) =>
            v === true || v === 'true' || v === '1'
              ? true
              : v === false || v === 'false' || v === '0' || v === ''
                ? false
                : v
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean),
          )
          .default(false),
        /** HTTPS on PORT with these PEM files; unset: plain HTTP (behind a proxy). */
        tls: z
          .strictObject({
            certFile: z.string().min(1).optional(),
            keyFile: z.string().min(1).optional(),
            caFile: z.string().min(1).optional(),
          })
          .prefault({}),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** auto: pretty when stdout is a terminal, JSON otherwise. */
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .prefault({}),
    fullstory: z
      .strictObject({
        url: z.url({ protocol: /^https?$/ }).default('https://api.fullstory.com/scim/v2'),
        token: z.string().min(1).optional(),
        plan: z.enum(PLANS).default('enterprise'),
        connectTimeoutMs: z.coerce.number().int().min(100).default(5_000),
        timeoutMs: z.coerce.number().int().min(100).default(15_000),
        /** FullStory's documented default bucket, which the sandbox also uses. */
        ratePerSecond: z.coerce.number().min(0.1).default(16),
        rateBurst: z.coerce.number().int().min(1).default(50),
        /** How long an IdP request may wait for budget before it is answered 429. */
        idpWaitMs: z.coerce.number().int().min(0).default(20_000),
        /** Tokens background role sync leaves to IdP calls, on every replica together. */
        idpReserve: z.coerce.number().int().min(0).default(10),
        /** Failures in a row (no answer, 5xx) after which calls pause for circuitOpenMs. */
        circuitThreshold: z.coerce.number().int().min(1).default(5),
        circuitOpenMs: z.coerce.number().int().min(100).default(15_000),
      })
      .prefault({}),
    idp: z
      .strictObject({
        tokens: z.array(idpToken).default([]),
        /** One plain token (IDP_TOKEN), for trying the bridge out. Hashed at load. */
        token: z.string().min(16, 'at least 16 characters').optional(),
        /** Client addresses allowed to call /scim/v2 (IPv4/IPv6 CIDRs); empty: any. */
        allowedCidrs: commaList.default([]),
        /** Failed token checks from one address within a minute before it gets 429 for the rest of it. */
        authFailureLimit: z.coerce.number().int().min(1).default(10),
      })
      .prefault({}),
    database: z
      .strictObject({
        /** PostgreSQL connection string; unset means the embedded SQLite store. */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
          .optional(),
        /** PostgreSQL schema for the bridge's tables (created if missing); unset: the connection's default. */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
          .optional(),
        dataDir: z.string().min(1).default('./data'),
      })
      .prefault({}),
    roles: z
      .strictObject({
        /** auto: learned from FullStory (what its users and groups show, and each write's read-back). */
        delivery: z.enum(['auto', 'roles-attribute', 'role-groups', 'sso', 'groups-passthrough']).default('auto'),
        default: z.union([roleName, z.literal('unchanged')]).default('standard'),
        precedence: z
          .array(roleName)
          .min(1)
          .default([...ROLES]),
        /** IdP group displayName (matched case-insensitively) -> FullStory role. */
        groups: z.record(z.string().min(1), roleName).default({}),
      })
      .prefault({}),
    sync: z
      .strictObject({
        /** Role writes in flight at once; the shared rate budget is the real limit. */
        concurrency: z.coerce.number().int().min(1).max(64).default(8),
        pollMs: z.coerce.number().int().min(50).default(1_000),
        claimTtlMs: z.coerce.number().int().min(1_000).default(60_000),
      })
      .prefault({}),
    startup: z
      .strictObject({
        /** fail-fast exits when the preflight fails; degraded serves 503 and re-checks. */
        policy: z.enum(['fail-fast', 'degraded']).default('fail-fast'),
      })
      .prefault({}),
    sandbox: z
      .strictObject({
        /** The FullStory sandbox profile used when no FullStory token is set (demo only). */
        profile: z.enum(['default', 'strict']).default('default'),
        /** Allows the sandbox with NODE_ENV=production (trying the container out). Never silent. */
        allowInProduction: flag.default(false),
      })
      .prefault({}),
    audit: z
      .strictObject({
        retentionDays: z.coerce.number().int().min(1).default(90),
        /** Hash user and group names in audit rows and keep no free-text detail. */
        redactPii: flag.default(false),
      })
      .prefault({}),
    ops: z
      .strictObject({
        /** Named SHA-256 hashes of the tokens that open /console (as IDP_TOKENS); IdP tokens do not. */
        tokens: z.array(idpToken).default([]),
        /** One plain console token, for trying it out. */
        token: z.string().min(16, 'at least 16 characters').optional(),
      })
      .prefault({}),
    bridge: z
      .strictObject({
        /** shadow: answer the IdP and record desired state, write nothing to FullStory (plan/apply later). */
        mode: z.enum(['live', 'shadow']).default('live'),
      })
      .prefault({}),
    index: z
      .strictObject({
        /**
         * How stale the index may be when it answers a lookup or a GET by id without asking
         * FullStory; also how often it is refreshed from FullStory. 0: always ask FullStory.
         */
        freshnessSeconds: z.coerce.number().int().min(0).default(600),
      })
      .prefault({}),
    plan: z
      .strictObject({
        /** One replica runs `plan` on this period (minutes) and records its counts; nothing is applied. 0: off. */
        intervalMinutes: z.coerce.number().min(0).default(0),
      })
      .prefault({}),
    notify: z
      .strictObject({
        /** Where word of an event that needs a person is POSTed (Slack, Teams or any JSON receiver); unset: none is sent. A secret. */
        webhookUrl: z.string().optional(),
        /** Hosts the webhook may be on; empty: any. */
        allowedHosts: commaList.transform((hosts) => hosts.map((h) => h.toLowerCase())).default([]),
        pollSeconds: z.coerce.number().min(0.05).max(300).default(5),
      })
      .prefault({}),
    guard: z
      .strictObject({
        /** Deactivations, deletions and demotions let through per window, on all replicas; 0 turns the guard off. */
        maxDeprovisions: z.coerce.number().int().min(0).default(25),
        windowMinutes: z.coerce.number().int().min(1).default(60),
        /** Roles whose grant waits for an operator's approval (`release`); empty: none. */
        approveRoles: commaList.pipe(z.array(roleName)).default(['admin']),
      })
      .prefault({}),
    nodeEnv: z.string().default('development'),
  })
  .superRefine((cfg, ctx) => {
    const webhook = webhookProblem(cfg.notify.webhookUrl, cfg.notify.allowedHosts);
    if (webhook) ctx.addIssue({ code: 'custom', path: ['notify', 'webhookUrl'], message: webhook });
    const offered = PLAN_ROLES[cfg.fullstory.plan];
    for (const [group, role] of Object.entries(cfg.roles.groups)) {
      if (!offered.includes(role)) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', 'groups', group],
          message: `group "${group}" maps to role "${role}", which the FullStory ${cfg.fullstory.plan} plan does not offer (it offers ${offered.join(', ')})`,
        });
      }
      if (!cfg.roles.precedence.includes(role)) {
        ctx.addIssue({ code: 'custom', path: ['roles', 'precedence'], message: `role "${role}" (group "${group}") is missing from the precedence list` });
      }
    }
    if (cfg.roles.default !== 'unchanged' && !offered.includes(cfg.roles.default)) {
      ctx.addIssue({
        code: 'custom',
        path: ['roles', 'default'],
        message: `default role "${cfg.roles.default}" is not offered by the FullStory ${cfg.fullstory.plan} plan (it offers ${offered.join(', ')})`,
      });
    }
    if (cfg.roles.default !== 'unchanged' && cfg.guard.approveRoles.includes(cfg.roles.default) && cfg.roles.delivery !== 'sso') {
      const message = `default role "${cfg.roles.default}" is one GUARD_APPROVE_ROLES makes wait for approval: every new user would be granted it unasked; set another default`;
      ctx.addIssue({ code: 'custom', path: ['roles', 'default'], message });
    }
    if (new Set(cfg.roles.precedence).size !== cfg.roles.precedence.length) {
      ctx.addIssue({ code: 'custom', path: ['roles', 'precedence'], message: 'a role appears twice in the precedence list' });
    }
    const lowered = new Map<string, string>();
    for (const group of Object.keys(cfg.roles.groups)) {
      const other = lowered.get(group.toLowerCase());
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['roles', 'groups', group],
          message: `groups "${other}" and "${group}" differ only in case; group names match case-insensitively`,
        });
      }
      lowered.set(group.toLowerCase(), group);
    }
  });

export type Config = z.infer<typeof configSchema>;

/**
 * Environment variables and the config path each one sets. These names are a stable
 * interface: operators and outside checks use them.
 */
/** Settings that are secrets: each may instead be read from the file its `_FILE` twin names. */
export const SECRET_VARS = ['FULLSTORY_SCIM_TOKEN', 'IDP_TOKEN', 'IDP_TOKENS', 'OPS_TOKEN', 'OPS_TOKENS', 'DATABASE_URL', 'NOTIFY_WEBHOOK_URL'] as const;

export const ENV_VARS: Record<string, { path: string; doc: string }> = {
  HOST: { path: 'server.host', doc: 'Listen address' },
  PORT: { path: 'server.port', doc: 'Listen port' },
  BODY_LIMIT_BYTES: { path: 'server.bodyLimitBytes', doc: 'Largest request body accepted (413 past it)' },
  REQUEST_TIMEOUT_MS: { path: 'server.requestTimeoutMs', doc: 'Longest an IdP request may take (IdPs give up at 60 s)' },
  SHUTDOWN_GRACE_MS: { path: 'server.shutdownGraceMs', doc: 'Time given to in-flight work on SIGTERM' },
  TRUST_PROXY: {
    path: 'server.trustProxy',
    doc: 'Behind a proxy: true (any), or a comma-separated list of proxy addresses/CIDRs whose X-Forwarded-For/Proto/Host are believed',
  },
  TLS_CERT_FILE: { path: 'server.tls.certFile', doc: 'PEM certificate (chain): serve HTTPS on PORT; re-read on SIGHUP and when it changes' },
  TLS_KEY_FILE: { path: 'server.tls.keyFile', doc: "The certificate's PEM private key" },
  TLS_CA_FILE: { path: 'server.tls.caFile', doc: 'PEM intermediate chain sent with the certificate' },
  LOG_LEVEL: { path: 'log.level', doc: 'pino level' },
  LOG_FORMAT: { path: 'log.format', doc: 'auto (pretty on a terminal), json or pretty' },
  FULLSTORY_SCIM_URL: { path: 'fullstory.url', doc: "FullStory's SCIM base URL (EU: https://api.eu1.fullstory.com/scim/v2)" },
  FULLSTORY_SCIM_TOKEN: { path: 'fullstory.token', doc: 'FullStory SCIM token; unset outside production runs the built-in sandbox' },
  FULLSTORY_PLAN: { path: 'fullstory.plan', doc: 'enterprise, business or data-direct: the roles the mapping may use' },
  FULLSTORY_CONNECT_TIMEOUT_MS: { path: 'fullstory.connectTimeoutMs', doc: 'Connect timeout to FullStory' },
  FULLSTORY_TIMEOUT_MS: { path: 'fullstory.timeoutMs', doc: 'Headers and body timeout for one FullStory call' },
  FULLSTORY_RATE_PER_SECOND: { path: 'fullstory.ratePerSecond', doc: 'Rate budget for all calls to FullStory' },
  FULLSTORY_RATE_BURST: { path: 'fullstory.rateBurst', doc: "FullStory's burst; the bridge spends at most half of it at once" },
  FULLSTORY_IDP_WAIT_MS: { path: 'fullstory.idpWaitMs', doc: 'Longest an IdP request waits for budget before 429' },
  FULLSTORY_IDP_RESERVE: { path: 'fullstory.idpReserve', doc: 'Budget tokens background role sync leaves to IdP calls' },
  FULLSTORY_CIRCUIT_THRESHOLD: { path: 'fullstory.circuitThreshold', doc: 'Failures in a row that open the circuit to FullStory' },
  FULLSTORY_CIRCUIT_OPEN_MS: { path: 'fullstory.circuitOpenMs', doc: 'How long an open circuit pauses calls before a trial call' },
  IDP_TOKEN: { path: 'idp.token', doc: 'One plain IdP bearer token (for trying it out)' },
  IDP_TOKENS: { path: 'idp.tokens', doc: 'Named SHA-256 token hashes: name:hex,name:hex' },
  IDP_ALLOWED_CIDRS: { path: 'idp.allowedCidrs', doc: 'Comma-separated IPv4/IPv6 CIDRs allowed to call /scim/v2 (others get 403); unset: any' },
  AUTH_FAILURE_LIMIT: { path: 'idp.authFailureLimit', doc: 'Failed token checks per address per minute before 429 for the rest of the minute' },
  DATABASE_URL: { path: 'database.url', doc: 'PostgreSQL URL; unset means embedded SQLite' },
  DATABASE_SCHEMA: { path: 'database.schema', doc: 'PostgreSQL schema for the tables (created if missing)' },
  DATA_DIR: { path: 'database.dataDir', doc: "SQLite's folder" },
  ROLE_DELIVERY: {
    path: 'roles.delivery',
    doc: 'auto (learned from FullStory: roles-attribute or role-groups), or set: roles-attribute, role-groups, sso, groups-passthrough',
  },
  DEFAULT_ROLE: { path: 'roles.default', doc: 'Role of a user in no mapped group, or unchanged' },
  SYNC_CONCURRENCY: { path: 'sync.concurrency', doc: 'Role writes in flight at once' },
  SYNC_POLL_MS: { path: 'sync.pollMs', doc: 'How often the role-sync worker looks for work' },
  SYNC_CLAIM_TTL_MS: { path: 'sync.claimTtlMs', doc: "After this a dead replica's claim is taken over" },
  STARTUP_POLICY: { path: 'startup.policy', doc: 'fail-fast or degraded' },
  SANDBOX_PROFILE: { path: 'sandbox.profile', doc: 'Sandbox profile in demo mode: default or strict' },
  FULLSTORY_SANDBOX: { path: 'sandbox.allowInProduction', doc: 'true: run against the built-in sandbox even with NODE_ENV=production (demo containers)' },
  AUDIT_RETENTION_DAYS: { path: 'audit.retentionDays', doc: 'Audit rows older than this are pruned' },
  AUDIT_REDACT_PII: { path: 'audit.redactPii', doc: 'Hash user and group names in audit rows and keep no free-text detail' },
  OPS_TOKENS: { path: 'ops.tokens', doc: 'Named SHA-256 hashes of the tokens that open /console: name:hex,name:hex' },
  OPS_TOKEN: { path: 'ops.token', doc: 'One plain /console token (for trying it out)' },
  BRIDGE_MODE: { path: 'bridge.mode', doc: 'live, or shadow: answer the IdP and record what it wants, write nothing to FullStory' },
  PLAN_INTERVAL_MINUTES: {
    path: 'plan.intervalMinutes',
    doc: 'One replica runs plan on this period (minutes) within the budget and records its counts (console, metrics, a log line when drift appears); nothing is applied; 0: off',
  },
  INDEX_FRESHNESS_SECONDS: {
    path: 'index.freshnessSeconds',
    doc: 'How stale the index may be when it answers lookups and reads alone (and how often it is refreshed from FullStory); 0: always ask FullStory',
  },
  GUARD_MAX_DEPROVISIONS: {
    path: 'guard.maxDeprovisions',
    doc: 'Deactivations, deletions and demotions per window before the guard holds more; 0 turns it off',
  },
  GUARD_WINDOW_MINUTES: { path: 'guard.windowMinutes', doc: "The deprovisioning guard's window" },
  NOTIFY_WEBHOOK_URL: {
    path: 'notify.webhookUrl',
    doc: 'Where a JSON notice is POSTed for each event that needs a person (Slack and Teams incoming webhooks show its text); https only (http to localhost); unset: none. A secret (_FILE too)',
  },
  NOTIFY_ALLOWED_HOSTS: { path: 'notify.allowedHosts', doc: 'Hosts the webhook may be on, comma-separated; empty: any' },
  NOTIFY_POLL_SECONDS: { path: 'notify.pollSeconds', doc: 'How often the notices outbox is sent from, and events looked for' },
  GUARD_APPROVE_ROLES: {
    path: 'guard.approveRoles',
    doc: "Roles whose grant waits for an operator's approval (`release`), comma-separated; set it empty to turn approvals off",
  },
  NODE_ENV: { path: 'nodeEnv', doc: 'production forbids the sandbox fallback' },
};
