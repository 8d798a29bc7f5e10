import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createBridge, type Bridge } from '../../src/bridge.js';
import { makeLogger } from '../../src/logging.js';
import { loadConfig } from '../../src/config/load.js';
import type { ProfileName, ProfilePatch } from '../../src/sandbox/profile.js';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import SQLite from 'better-sqlite3';
import type { PostgresStore } from '../../src/store/postgres/store.js';
import { Store } from '../../src/store/store.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const IDP_TOKEN = 'test-idp-token-0123456789abcdef';

let pgAvailable: Promise<boolean> | undefined;
/** PostgreSQL is needed for the second run of each store suite; `.ci/run` makes sure it is up. */
export function postgresAvailable(): Promise<boolean> {
  pgAvailable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch (err) {
      if (process.env.REQUIRE_POSTGRES === '1')
        throw new Error(`PostgreSQL is required (REQUIRE_POSTGRES=1) but ${PG_URL} is unreachable: ${(err as Error).message}`);
      console.warn(`[tests] PostgreSQL at ${PG_URL} is unreachable (${(err as Error).message}): the PostgreSQL runs are skipped`);
      return false;
    }
  })();
  return pgAvailable;
}

export type DbKind = 'sqlite' | 'postgres';
/** The suites that run on both stores; PostgreSQL only where it answers. */
export const DATABASES: DbKind[] = ['sqlite', 'postgres'];

/** The one choice of stores a suite runs on: SQLite always, PostgreSQL where it answers (required in CI). */
export async function databases(): Promise<DbKind[]> {
  return (await postgresAvailable()) ? DATABASES : ['sqlite'];
}

/** A PostgreSQL schema of the test's own, dropped by the returned function. */
export async function tempSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return {
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** Where a bridge keeps its data, so that a restart, the CLI or the test itself can open it again. */
export interface DataPlace {
  dataDir?: string;
  pgSchema?: string;
}

/** A data place of the test's own on `db` (a SQLite folder or a PostgreSQL schema), and how to remove it. */
export async function dataPlace(db: DbKind): Promise<{ where: DataPlace; remove: () => Promise<void> }> {
  if (db === 'postgres') {
    const { schema, drop } = await tempSchema();
    return { where: { pgSchema: schema }, remove: drop };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'fsb-data-'));
  return { where: { dataDir }, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** Raw SQL on a data place (`$1` placeholders), as an older schema or another process would write it. */
export async function rawSql(where: DataPlace, statements: [string, unknown[]][]): Promise<void> {
  if (where.dataDir) {
    const db = new SQLite(join(where.dataDir, 'bridge.sqlite'));
    try {
      for (const [text, params] of statements) db.prepare(text.replace(/\$\d+/g, '?')).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${where.pgSchema}` });
  await client.connect();
  try {
    for (const [text, params] of statements) await client.query(text, params);
  } finally {
    await client.end();
  }
}

/** The environment that points the CLI at a data place. */
export function dataEnv(where: DataPlace): Record<string, string> {
  return where.pgSchema ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: where.pgSchema } : { DATA_DIR: where.dataDir! };
}

/** A store on a PostgreSQL schema of its own; `close` closes it and drops the schema. */
export async function tempPgStore(): Promise<{ store: PostgresStore; close: () => Promise<void> }> {
  const { schema, drop } = await tempSchema();
  const store = (await Store.open({ url: PG_URL, dataDir: ':memory:', pgSchema: schema })) as PostgresStore;
  return {
    store,
    close: async () => {
      await store.close();
      await drop();
    },
  };
}

export interface TestBridge {
  bridge: Bridge;
  sandbox: RunningSandbox;
  /** Everything the bridge logged, as text: for secrets checks. */
  logs: () => string;
  req: (method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<Res>;
  /** Runs a query on the bridge's database from outside, on a connection of its own (as an operator would look). */
  sql: <R = Record<string, unknown>>(text: string) => Promise<R[]>;
  close: () => Promise<void>;
}

/** A query on a bridge's database from outside: the SQLite file read-only, or the PostgreSQL schema. */
async function inspect<R>(where: { dataDir?: string | undefined; pgSchema?: string | undefined }, text: string): Promise<R[]> {
  if (where.dataDir) {
    const db = new SQLite(join(where.dataDir, 'bridge.sqlite'), { readonly: true });
    try {
      return db.prepare(text).all() as R[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: PG_URL, ...(where.pgSchema ? { options: `-c search_path=${where.pgSchema}` } : {}) });
  await client.connect();
  try {
    return (await client.query(text)).rows as R[];
  } finally {
    await client.end();
  }
}

export interface Res {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export interface TestBridgeOptions {
  db?: DbKind;
  profile?: ProfileName;
  sandbox?: ProfilePatch;
  /** Config overrides (nested as in the YAML file). */
  config?: Record<string, unknown>;
  startWorker?: boolean;
  /** Reuse a sandbox (several bridges on one FullStory). */
  sharedSandbox?: RunningSandbox;
  /** Reuse a PostgreSQL schema (several replicas on one database, or a restart); not dropped on close. */
  pgSchema?: string;
  /** Reuse a SQLite folder (a restart); not removed on close. */
  dataDir?: string;
}

/**
 * A bridge on a fresh SQLite file (as deployed: WAL, a writer and a reader connection)
 * or a fresh PostgreSQL schema, against its own sandbox.
 */
export async function startTestBridge(opts: TestBridgeOptions = {}): Promise<TestBridge> {
  const sandbox = opts.sharedSandbox ?? (await startSandbox({ profile: opts.profile ?? 'default', patch: { rateLimit: null, ...(opts.sandbox ?? {}) } }));
  let schema: { schema: string; drop: () => Promise<void> } | undefined;
  if (opts.db === 'postgres' && !opts.pgSchema) schema = await tempSchema();
  const pgSchema = opts.pgSchema ?? schema?.schema;
  const dataDir = opts.db === 'postgres' ? undefined : (opts.dataDir ?? mkdtempSync(join(tmpdir(), 'fsb-test-')));
  const config = loadConfig(
    {},
    {
      fullstory: { url: sandbox.url, token: sandbox.token, ratePerSecond: 10_000, rateBurst: 10_000, ...((opts.config?.fullstory as object) ?? {}) },
      idp: { token: IDP_TOKEN, ...((opts.config?.idp as object) ?? {}) },
      database: dataDir ? { dataDir } : { url: PG_URL },
      sync: { pollMs: 100 },
      log: { level: 'debug', format: 'json' },
      // Off unless a test is about them: most tests deprovision and promote freely, in sandboxes with no other admin.
      guard: { maxDeprovisions: 0, approveRoles: [], ...((opts.config?.guard as object) ?? {}) },
      // Off unless a test is about it: most tests change FullStory behind the bridge and read it back at once.
      index: { freshnessSeconds: 0 },
      ...Object.fromEntries(Object.entries(opts.config ?? {}).filter(([k]) => k !== 'fullstory' && k !== 'idp' && k !== 'guard')),
    },
  );
  // The production logger, its lines kept: what a test finds in them is what an operator would.
  const chunks: string[] = [];
  const logger = makeLogger(
    config,
    new Writable({
      write(chunk, _enc, cb) {
        chunks.push(String(chunk));
        cb();
      },
    }),
  );
  const bridge = await createBridge(config, {
    logger,
    sandbox,
    ...(pgSchema ? { pgSchema } : {}),
    ...(opts.startWorker === false ? { startWorker: false } : {}),
  });
  return {
    bridge,
    sandbox,
    logs: () => chunks.join(''),
    sql: (text) => inspect({ dataDir, pgSchema }, text),
    req: async (method, url, body, headers = {}) => {
      const res = await bridge.app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${IDP_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
        ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      let parsed: unknown;
      try {
        parsed = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        parsed = res.body;
      }
      return { status: res.statusCode, body: parsed, headers: res.headers as Res['headers'] };
    },
    close: async () => {
      await bridge.close();
      if (!opts.sharedSandbox) await sandbox.close();
      await schema?.drop();
      if (dataDir && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` holds (polling), or fails with what it last saw. */
export async function eventually<T>(check: () => Promise<T> | T, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const U = '/scim/v2/Users';
export const G = '/scim/v2/Groups';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export function oktaUser(userName: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER_SCHEMA],
    userName,
    name: { givenName: 'Test', familyName: 'User' },
    emails: [{ primary: true, value: userName, type: 'work' }],
    displayName: 'Test User',
    locale: 'en-US',
    externalId: `00u${userName.replace(/\W/g, '').slice(0, 12)}`,
    groups: [],
    password: '1mz050nq',
    active: true,
    ...extra,
  };
}

export function entraUser(userName: string, externalId: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER_SCHEMA, ENTERPRISE],
    externalId,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    addresses: null,
    manager: null,
    [ENTERPRISE]: { manager: '123456', employeeNumber: '701984', department: 'Tour Operations' },
    ...extra,
  };
}
