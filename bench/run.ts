/**
 * npm run bench: the bridge's cost over FullStory (the sandbox), measured side by side
 * in one run on this machine. The sandbox and the bridge run as separate processes on
 * loopback; every figure is printed beside its baseline and written to
 * bench/results/latest.json. Bounded: about three minutes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { Pool } from 'undici';
import { writeReadmeTable } from './readme-table.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/index.js');
const PASSTHROUGH = join(ROOT, 'dist-bench/bench/passthrough.js');
const IDP = 'bench-idp-token-0123456789abcdef';
const FS_TOKEN = 'bench-fullstory-token';
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const QUICK = process.env.BENCH_QUICK === '1';
/** Throughput: direct and bridge alternate in rounds of this many seconds each. */
const THROUGHPUT_ROUNDS = QUICK ? 2 : 3;
const ROUND_SECONDS = QUICK ? 1 : 2;
const LATENCY_SAMPLES = QUICK ? 200 : 1000;
const PROPAGATION_RATE = Number(process.env.BENCH_RATE ?? 500);
const SCALE = Number(process.env.BENCH_USERS ?? (QUICK ? 2_000 : 10_000));
/** BENCH_ONLY=propagation skips the overhead table; BENCH_ONLY=first-sync runs only the first sync (for iterating). */
const ONLY = process.env.BENCH_ONLY;

/** As the container and `npm start` run the bridge (a smaller young generation: see docs/benchmarks.md). */
const RUNTIME_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=128';
/**
 * The sandbox and the pass-through: no old-generation cap, since the sandbox keeps every
 * user the run creates (capped like the bridge, it ran out of heap under the POST load).
 */
const HELPER_NODE_OPTIONS = '--max-semi-space-size=8';
/** glibc's allocator as the container sets it (Dockerfile): freed native memory goes back to the OS. */
const RUNTIME_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '131072' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Below the kernel's ephemeral range (32768-60999), so no outgoing connection holds the port.
let nextPort = 12_000 + Math.floor(Math.random() * 15_000);

interface Proc {
  child: ChildProcess;
  url: string;
  close(): Promise<void>;
}

/** Every process the bench started, so that no exit path leaves one running. */
const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

function start(args: string[], env: Record<string, string>, readyPath: string, port: number, script = CLI): Promise<Proc> {
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), script, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? HELPER_NODE_OPTIONS, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const url = `http://127.0.0.1:${port}`;
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 30_000;
    const poll = async () => {
      if (child.exitCode !== null) return reject(new Error(`${args[0]} exited ${child.exitCode}`));
      try {
        const res = await fetch(`${url}${readyPath}`, { headers: { authorization: `Bearer ${FS_TOKEN}` } });
        if (res.ok) {
          return resolve({
            child,
            url,
            close: () =>
              new Promise((done) => {
                child.once('exit', () => done());
                child.kill('SIGTERM');
              }),
          });
        }
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) return reject(new Error(`${args[0]} did not come up`));
      setTimeout(() => void poll(), 100);
    };
    void poll();
  });
}

function startSandbox(rate: number, burst = 50): Promise<Proc> {
  const port = nextPort++;
  return start(['sandbox', '--port', String(port), '--token', FS_TOKEN, '--rate', String(rate), '--burst', String(burst)], {}, '/_sandbox/counters', port);
}

interface BridgeOpts {
  sandbox: Proc;
  store: 'sqlite' | 'postgres';
  rate?: number;
  burst?: number;
  configFile?: string;
  dataDir?: string;
}

/** The floor under the bridge (see passthrough.ts), in front of `sandbox`. */
function startPassthrough(sandbox: Proc): Promise<Proc> {
  const port = nextPort++;
  return start([String(port), `${sandbox.url}/scim/v2`, FS_TOKEN], {}, '/healthz', port, PASSTHROUGH);
}

async function startBridge(o: BridgeOpts): Promise<Proc & { pid: number; schema?: string }> {
  const port = nextPort++;
  const schema = o.store === 'postgres' ? `bench_${Date.now().toString(36)}_${port}` : undefined;
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    FULLSTORY_SCIM_URL: `${o.sandbox.url}/scim/v2`,
    FULLSTORY_SCIM_TOKEN: FS_TOKEN,
    IDP_TOKEN: IDP,
    FULLSTORY_RATE_PER_SECOND: String(o.rate ?? 1_000_000),
    FULLSTORY_RATE_BURST: String(o.burst ?? 1_000_000),
    FULLSTORY_IDP_RESERVE: '0',
    // Thousands of deactivations a second are the benchmark's, not an accident to hold.
    GUARD_MAX_DEPROVISIONS: '0',
    // A 100,000-member group PUT is about 5 MB.
    BODY_LIMIT_BYTES: String(64 * 1024 * 1024),
    NODE_ENV: 'production',
    NODE_OPTIONS: process.env.BENCH_BRIDGE_NODE_OPTIONS ?? RUNTIME_NODE_OPTIONS,
    ...RUNTIME_ENV,
    ...(o.configFile ? { CONFIG_FILE: o.configFile } : {}),
    ...(schema ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : { DATA_DIR: o.dataDir ?? mkdtempSync(join(tmpdir(), 'fsb-bench-')) }),
  };
  const p = await start(['serve'], env, '/healthz', port);
  await waitReady(p.url);
  return { ...p, pid: p.child.pid!, ...(schema ? { schema } : {}) };
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (
      (await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      return;
    await sleep(100);
  }
  throw new Error('bridge never became ready');
}

async function dropSchema(schema: string | undefined): Promise<void> {
  if (!schema) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

/** Peak and current resident memory of a process, from /proc (MB). */
function memory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

async function json(url: string, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/** What one operation sends, through the bridge and straight to FullStory. */
interface Scenario {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  /** Request n (0, 1, ...) for the bridge and for the sandbox. */
  bridge: (n: number) => { path: string; body?: unknown };
  direct: (n: number) => { path: string; body?: unknown };
  write: boolean;
  /** Also measured through the pass-through (the stack alone), which forwards the direct requests. */
  passthrough?: boolean;
}

interface Figures {
  p50: number;
  p99: number;
  rps: number;
  non2xx: number;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function latency(
  base: string,
  token: string,
  method: string,
  make: (n: number) => { path: string; body?: unknown },
  offset: number,
): Promise<{ p50: number; p99: number; non2xx: number }> {
  // One at a time, timed with undici on one connection.
  const pool = new Pool(base, { connections: 1 });
  const times: number[] = [];
  let non2xx = 0;
  for (let i = 0; i < LATENCY_SAMPLES + 50; i++) {
    const { path, body } = make(offset + i);
    const t0 = performance.now();
    const res = await pool.request({
      method: method as 'GET',
      path,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    await res.body.text();
    if (i >= 50) times.push(performance.now() - t0);
    if (res.statusCode >= 300) non2xx++;
  }
  await pool.close();
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p99: pct(times, 99), non2xx };
}

/** Requests completed in `seconds` with 32 connections, by autocannon. */
async function throughput(
  base: string,
  token: string,
  method: string,
  make: () => { path: string; body?: unknown },
  seconds: number,
): Promise<{ requests: number; seconds: number; non2xx: number }> {
  const result = await autocannon({
    url: base,
    connections: 32,
    duration: seconds,
    requests: [
      {
        method: method as 'GET',
        setupRequest: (req) => {
          const { path, body } = make();
          return {
            ...req,
            path,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
            ...(body ? { body: JSON.stringify(body) } : {}),
          };
        },
      },
    ],
  });
  return { requests: result.requests.total, seconds: result.duration, non2xx: result.non2xx + result.errors };
}

/**
 * One scenario, direct and through the bridge. Throughput alternates between the two in
 * short rounds, so that a drift in this machine's speed (±20 % between identical runs on
 * a shared VM) falls on both sides of the ratio instead of on one.
 */
async function measure(
  s: Scenario,
  sandbox: string,
  bridge: string,
  passthrough?: string,
): Promise<{ direct: Figures; bridge: Figures; passthrough?: Figures }> {
  const directMethod = s.name.startsWith('PATCH /Groups') ? 'PUT' : s.method;
  const dLat = await latency(sandbox, FS_TOKEN, directMethod, s.direct, 0);
  const bLat = await latency(bridge, IDP, s.method, s.bridge, 0);
  // Also the pass-through's warm-up, as the latency runs are the others'.
  const pLat = passthrough ? await latency(passthrough, IDP, directMethod, (i) => s.direct(2_000_000 + i), 0) : undefined;
  let n = LATENCY_SAMPLES + 50;
  let m = n;
  let k = 0;
  const sums = {
    direct: { requests: 0, seconds: 0, non2xx: 0 },
    bridge: { requests: 0, seconds: 0, non2xx: 0 },
    passthrough: { requests: 0, seconds: 0, non2xx: 0 },
  };
  const add = (sum: typeof sums.direct, r: typeof sums.direct) => {
    sum.requests += r.requests;
    sum.seconds += r.seconds;
    sum.non2xx += r.non2xx;
  };
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    add(sums.direct, await throughput(sandbox, FS_TOKEN, directMethod, () => s.direct(n++), ROUND_SECONDS));
    // Its creates are named apart from the direct ones (the sandbox refuses a userName twice).
    if (passthrough) add(sums.passthrough, await throughput(passthrough, IDP, directMethod, () => s.direct(1_000_000 + k++), ROUND_SECONDS));
    add(sums.bridge, await throughput(bridge, IDP, s.method, () => s.bridge(m++), ROUND_SECONDS));
  }
  const figures = (lat: typeof dLat, sum: typeof sums.direct): Figures => ({
    p50: lat.p50,
    p99: lat.p99,
    rps: sum.requests / sum.seconds,
    non2xx: lat.non2xx + sum.non2xx,
  });
  return {
    direct: figures(dLat, sums.direct),
    bridge: figures(bLat, sums.bridge),
    ...(pLat ? { passthrough: figures(pLat, sums.passthrough) } : {}),
  };
}

async function overhead(store: 'sqlite' | 'postgres') {
  const sandbox = await startSandbox(0);
  const bridge = await startBridge({ sandbox, store });
  // The stack alone does not depend on the store: measured once, beside SQLite.
  const passthrough = store === 'sqlite' ? await startPassthrough(sandbox) : undefined;
  const idle = memory(bridge.pid);
  const b = bridge.url;
  const users: string[] = [];
  for (let i = 0; i < 200; i++)
    users.push(
      (
        await json(b, 'POST', '/scim/v2/Users', IDP, {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `seed${i}@bench.example`,
          active: true,
        })
      ).id,
    );
  const group = (await json(b, 'POST', '/scim/v2/Groups', IDP, { displayName: 'Bench group', members: [] })).id;
  const fsGroup = (await json(sandbox.url, 'POST', '/scim/v2/Groups', FS_TOKEN, { displayName: 'Bench group', members: [] })).id;
  const userName = encodeURIComponent('userName eq "seed7@bench.example"');
  const u = (n: number) => users[n % users.length]!;
  const scenarios: Scenario[] = [
    {
      name: 'GET /Users/{id}',
      method: 'GET',
      write: false,
      passthrough: true,
      bridge: (n) => ({ path: `/scim/v2/Users/${u(n)}` }),
      direct: (n) => ({ path: `/scim/v2/Users/${u(n)}` }),
    },
    {
      name: 'GET /Users?filter=userName eq',
      method: 'GET',
      write: false,
      bridge: () => ({ path: `/scim/v2/Users?filter=${userName}` }),
      direct: () => ({ path: `/scim/v2/Users?filter=${userName}` }),
    },
    {
      name: 'POST /Users',
      method: 'POST',
      write: true,
      passthrough: true,
      bridge: (n) => ({
        path: '/scim/v2/Users',
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `b${store}${n}@bench.example`,
          name: { givenName: 'B', familyName: 'N' },
          active: true,
        },
      }),
      direct: (n) => ({
        path: '/scim/v2/Users',
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `d${store}${n}@bench.example`,
          name: { givenName: 'B', familyName: 'N' },
          active: true,
        },
      }),
    },
    {
      name: 'PATCH /Users (Entra disable)',
      method: 'PATCH',
      write: true,
      // Alternates disable and enable so every request is a real change.
      bridge: (n) => ({
        path: `/scim/v2/Users/${u(n)}`,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Replace', path: 'active', value: Math.floor(n / users.length) % 2 ? 'True' : 'False' }],
        },
      }),
      direct: (n) => ({
        path: `/scim/v2/Users/${u(n)}`,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'active', value: Math.floor(n / users.length) % 2 === 1 }],
        },
      }),
    },
    {
      name: 'PATCH /Groups (add one member)',
      method: 'PATCH',
      write: true,
      // Adds, then (next time round) removes, each user; FullStory has no group PATCH, so its baseline is a PUT of a one-member group.
      bridge: (n) => ({
        path: `/scim/v2/Groups/${group}`,
        body: { Operations: [{ op: Math.floor(n / users.length) % 2 ? 'remove' : 'add', path: 'members', value: [{ value: u(n) }] }] },
      }),
      direct: (n) => ({ path: `/scim/v2/Groups/${fsGroup}`, body: { displayName: 'Bench group', members: [{ value: u(n) }] } }),
    },
  ];
  const rows = [];
  for (const s of scenarios) {
    const { direct, bridge: through, passthrough: floor } = await measure(s, sandbox.url, b, s.passthrough ? passthrough?.url : undefined);
    rows.push({ scenario: s.name, store, write: s.write, direct, bridge: through, ...(floor ? { passthrough: floor } : {}) });
    const vsFloor = floor
      ? `\n${''.padEnd(41)}pass-through: p50 ${fmt(floor.p50)} (+${fmt(floor.p50 - direct.p50)})  p99 ${fmt(floor.p99)} (+${fmt(floor.p99 - direct.p99)})  ${Math.round(floor.rps)} rps = ${((100 * floor.rps) / direct.rps).toFixed(0)} % of direct; the bridge ${((100 * through.rps) / floor.rps).toFixed(0)} % of it`
      : '';
    const non2xx = through.non2xx || direct.non2xx || floor?.non2xx ? `  non-2xx ${through.non2xx}/${direct.non2xx}${floor ? `/${floor.non2xx}` : ''}` : '';
    report(
      `${store.padEnd(8)} ${s.name.padEnd(32)} p50 ${fmt(through.p50)} (+${fmt(through.p50 - direct.p50)})  p99 ${fmt(through.p99)} (+${fmt(through.p99 - direct.p99)})  ${Math.round(through.rps)} rps = ${((100 * through.rps) / direct.rps).toFixed(0)} % of ${Math.round(direct.rps)}${non2xx}${vsFloor}`,
    );
  }
  await passthrough?.close();
  const after = memory(bridge.pid);
  await bridge.close();
  await sandbox.close();
  await dropSchema(bridge.schema);
  return { rows, idleRssMb: idle.rssMb, peakRssMb: after.peakMb };
}

async function propagation() {
  const rate = PROPAGATION_RATE;
  // Unlimited while seeding and importing; FullStory's limit for the propagation.
  const sandbox = await startSandbox(0);
  const dir = mkdtempSync(join(tmpdir(), 'fsb-bench-cfg-'));
  const configFile = join(dir, 'bridge.yaml');
  writeFileSync(configFile, 'roles:\n  groups:\n    "FS Admins": admin\n');
  // Users exist before the bridge starts: the import indexes them (as Okta's would).
  const seedPool = new Pool(sandbox.url, { connections: 16 });
  let made = 0;
  const ids: string[] = [];
  const seedOne = async (i: number): Promise<void> => {
    for (;;) {
      const res = await seedPool.request({
        method: 'POST',
        path: '/scim/v2/Users',
        headers: { authorization: `Bearer ${FS_TOKEN}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ userName: `p${i}@bench.example`, externalId: `ext-${i}`, emails: [{ value: `p${i}@mail.bench.example`, primary: true }] }),
      });
      const text = await res.body.text();
      if (res.statusCode === 201) {
        ids[i] = JSON.parse(text).id;
        made++;
        return;
      }
      await sleep(50);
    }
  };
  for (let i = 0; i < SCALE; i += 64) await Promise.all(Array.from({ length: Math.min(64, SCALE - i) }, (_, k) => seedOne(i + k)));
  await seedPool.close();
  const dataDir = mkdtempSync(join(tmpdir(), 'fsb-bench-prop-'));
  const importer = await startBridge({ sandbox, store: 'sqlite', configFile, dataDir });
  const stopImportTrace = memTrace(importer.url, 'import');
  await sleep(1000);
  const idle = memory(importer.pid);
  // Import: Okta pages through every user, 100 at a time, which also indexes them.
  const importStart = performance.now();
  for (let start = 1; start <= SCALE; start += 100) await json(importer.url, 'GET', `/scim/v2/Users?startIndex=${start}&count=100`, IDP);
  const importBridgeS = (performance.now() - importStart) / 1000;
  const importDirectStart = performance.now();
  for (let start = 1; start <= SCALE; start += 100) await json(sandbox.url, 'GET', `/scim/v2/Users?startIndex=${start}&count=100`, FS_TOKEN);
  const importDirectS = (performance.now() - importDirectStart) / 1000;
  // Lookups on a settled bridge: its startup import done (the Okta import above may have raced it).
  for (let i = 0; i < 600 && !(await json(importer.url, 'GET', '/readyz', IDP)).index?.complete; i++) await sleep(100);
  const lookups = await lookupFigures(importer.url, SCALE);
  const afterImport = memory(importer.pid);
  stopImportTrace();
  await importer.close();

  // A fresh process on the same index, so its peak memory is the propagation's.
  await json(sandbox.url, 'POST', '/_sandbox/set', FS_TOKEN, { rateLimit: { perSecond: rate, burst: 50, headers: false } });
  await sleep(200);
  const bridge = await startBridge({ sandbox, store: 'sqlite', rate, burst: 50, configFile, dataDir });
  const stopTrace = memTrace(bridge.url, 'propagation');
  await sleep(1500);
  await fetch(`${sandbox.url}/_sandbox/reset-counters`, { method: 'POST' });

  const t0 = performance.now();
  const group = await json(bridge.url, 'POST', '/scim/v2/Groups?excludedAttributes=members', IDP, { displayName: 'Big group', members: [] });
  await json(bridge.url, 'PUT', `/scim/v2/Groups/${group.id}?excludedAttributes=members`, IDP, {
    displayName: 'FS Admins',
    members: ids.map((value) => ({ value })),
  });
  const answeredS = (performance.now() - t0) / 1000;
  if (process.env.BENCH_HEAPSNAP_AT) setTimeout(() => process.kill(bridge.pid, 'SIGUSR2'), Number(process.env.BENCH_HEAPSNAP_AT) * 1000);
  let peakMb = 0;
  for (;;) {
    peakMb = Math.max(peakMb, memory(bridge.pid).rssMb);
    // The counts, not the per-user listing: building 10,000 entries four times a second stalled the sandbox FullStory calls wait on.
    const admins = ((await json(sandbox.url, 'GET', '/_sandbox/role-counts', FS_TOKEN)) as Record<string, number>).admin ?? 0;
    if (admins >= SCALE) break;
    if (performance.now() - t0 > (SCALE / rate) * 3000 + 30_000) throw new Error(`propagation stalled at ${admins}`);
    // Watched closely near the end: a coarse poll would add up to its own period to the figure.
    await sleep(SCALE - admins > SCALE / 50 ? 250 : 25);
  }
  const doneS = (performance.now() - t0) / 1000;
  const counters = (await json(sandbox.url, 'GET', '/_sandbox/counters', FS_TOKEN)) as Record<string, number>;
  const got429 = Object.entries(counters)
    .filter(([k]) => k.endsWith(' 429'))
    .reduce((n, [, c]) => n + c, 0);
  const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
  const failed = Number(/scim_bridge_role_sync_applied_total\{outcome="failed"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  const final = memory(bridge.pid);
  stopTrace();
  if (process.env.BENCH_MEMTRACE === '1') process.stderr.write(mappings(bridge.pid));
  await bridge.close();
  await sandbox.close();
  const floorS = SCALE / rate;
  return {
    users: SCALE,
    rate,
    answeredS,
    doneS,
    floorS,
    ratio: doneS / floorS,
    upstream429: got429,
    failedAfterRetries: failed,
    importBridgeS,
    importDirectS,
    idleRssMb: idle.rssMb,
    importPeakRssMb: afterImport.peakMb,
    propagationPeakRssMb: Math.max(peakMb, final.peakMb),
    lookups,
    storeMb: dirMb(dataDir),
    seeded: made,
  };
}

/** p50/p99 of `eq` lookups through the bridge on each indexed key, 1,000 random users one at a time, after 50 to warm up. */
async function lookupFigures(url: string, n: number) {
  const keys: [string, (i: number) => string][] = [
    ['userName', (i) => `p${i}@bench.example`],
    ['externalId', (i) => `ext-${i}`],
    ['emails.value', (i) => `p${i}@mail.bench.example`],
  ];
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const [key, value] of keys) {
    const times: number[] = [];
    // The first lookups of a key prepare its statement and warm the JIT: steady state is measured, after 50.
    for (let k = -50; k < 1000; k++) {
      const i = Math.floor(Math.random() * n);
      const t = performance.now();
      const found = await json(url, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`${key} eq "${value(i)}"`)}`, IDP);
      if (k >= 0) times.push(performance.now() - t);
      if (found.totalResults !== 1) throw new Error(`${key} eq ${value(i)} found ${found.totalResults}`);
    }
    times.sort((a, b) => a - b);
    out[key] = { p50: times[Math.floor(times.length * 0.5)]!, p99: times[Math.floor(times.length * 0.99)]! };
  }
  return out;
}

/**
 * `BENCH_MEMTRACE=1`: the bridge's heap, external memory and RSS from its /metrics every
 * 250 ms, printed as one line a second to stderr, to see what a peak is made of.
 */
function memTrace(url: string, label: string): () => void {
  if (process.env.BENCH_MEMTRACE !== '1') return () => undefined;
  const t0 = performance.now();
  let last = 0;
  const sample = async () => {
    const text = await fetch(`${url}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const mb = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20;
    const s = (performance.now() - t0) / 1000;
    if (s - last < 1) return;
    last = s;
    process.stderr.write(
      `[mem ${label} ${s.toFixed(0)}s] rss ${mb('process_resident_memory_bytes').toFixed(0)} heapUsed ${mb('nodejs_heap_size_used_bytes').toFixed(0)} heapTotal ${mb('nodejs_heap_size_total_bytes').toFixed(0)} external ${mb('nodejs_external_memory_bytes').toFixed(0)} MB\n`,
    );
  };
  const timer = setInterval(() => void sample(), 250);
  return () => clearInterval(timer);
}

/** The process's resident memory by mapping ([heap] is malloc's, unnamed ones V8's and other mmaps), largest first. */
function mappings(pid: number): string {
  const sizes = new Map<string, number>();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) name = head[1] || '(anonymous)';
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) sizes.set(name, (sizes.get(name) ?? 0) + Number(rss[1]) / 1024);
  }
  return [...sizes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([n, mb]) => `[smaps] ${mb.toFixed(1)} MB ${n}\n`)
    .join('');
}

/** Megabytes a folder's files take (the SQLite store, its WAL included). */
function dirMb(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0) / 2 ** 20;
}

const FIRST_SYNC_USERS = QUICK ? 500 : 2_000;
const FIRST_SYNC_RATE = Number(process.env.BENCH_FIRST_SYNC_RATE ?? 100);

/** Runs `jobs` with `width` at a time. */
async function pooled(jobs: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

/** A client that keeps to `rate` calls a second by itself, as a well-behaved direct integration would. */
function paced(rate: number): () => Promise<void> {
  let at = performance.now();
  return async () => {
    at = Math.max(at + 1000 / rate, performance.now());
    const wait = at - performance.now();
    if (wait > 0) await sleep(wait);
  };
}

/**
 * An Okta-style first push of N users (lookup, then create) and a group push mapping a
 * quarter of them to a role, with FullStory limited to R calls a second: going direct
 * (lookup and create each a call, then a role write per user) against the bridge (the
 * index answers the lookup; roles through the outbox). Both bound by R; the floor is
 * the writes FullStory must see divided by R.
 */
async function firstSync() {
  const n = FIRST_SYNC_USERS;
  const mapped = n / 4;
  const rate = FIRST_SYNC_RATE;
  const floorS = (n + mapped) / rate;
  const body = (i: number, who: string) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${who}${i}@first.example`, active: true });

  // Direct: the IdP's calls go to FullStory one for one.
  const direct = await startSandbox(rate, 50);
  const pace = paced(rate);
  const t0 = performance.now();
  const ids: string[] = [];
  await pooled(
    Array.from({ length: n }, (_, i) => async () => {
      await pace();
      await json(direct.url, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "d${i}@first.example"`)}`, FS_TOKEN);
      await pace();
      ids[i] = (await json(direct.url, 'POST', '/scim/v2/Users', FS_TOKEN, body(i, 'd'))).id;
    }),
    8,
  );
  await pooled(
    ids.slice(0, mapped).map((id) => async () => {
      await pace();
      await json(direct.url, 'PATCH', `/scim/v2/Users/${id}`, FS_TOKEN, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'roles', value: [{ value: 'admin' }] }],
      });
    }),
    8,
  );
  const directS = (performance.now() - t0) / 1000;
  await direct.close();

  // Through the bridge, FullStory limited the same way.
  const sandbox = await startSandbox(rate, 50);
  const dir = mkdtempSync(join(tmpdir(), 'fsb-bench-first-'));
  const configFile = join(dir, 'bridge.yaml');
  writeFileSync(configFile, 'roles:\n  groups:\n    "FS Admins": admin\n');
  const bridge = await startBridge({ sandbox, store: 'sqlite', rate, burst: 50, configFile });
  await sleep(1500);
  await fetch(`${sandbox.url}/_sandbox/reset-counters`, { method: 'POST' });
  let peakMb = 0;
  const sampler = setInterval(() => (peakMb = Math.max(peakMb, memory(bridge.pid).rssMb)), 100);
  const t1 = performance.now();
  const made: string[] = [];
  await pooled(
    Array.from({ length: n }, (_, i) => async () => {
      const found = await json(bridge.url, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "b${i}@first.example"`)}`, IDP);
      if (found.totalResults === 0) made[i] = (await json(bridge.url, 'POST', '/scim/v2/Users', IDP, body(i, 'b'))).id;
    }),
    8,
  );
  await json(bridge.url, 'POST', '/scim/v2/Groups?excludedAttributes=members', IDP, {
    displayName: 'FS Admins',
    members: made.slice(0, mapped).map((value) => ({ value })),
  });
  for (;;) {
    const admins = ((await json(sandbox.url, 'GET', '/_sandbox/role-counts', FS_TOKEN)) as Record<string, number>).admin ?? 0;
    if (admins >= mapped) break;
    if (performance.now() - t1 > floorS * 4000 + 30_000) throw new Error(`first sync stalled at ${admins} admins`);
    await sleep(50);
  }
  const bridgeS = (performance.now() - t1) / 1000;
  clearInterval(sampler);
  const counters = (await json(sandbox.url, 'GET', '/_sandbox/counters', FS_TOKEN)) as Record<string, number>;
  const calls = Object.values(counters).reduce((a, b) => a + b, 0);
  await bridge.close();
  await sandbox.close();
  return {
    users: n,
    mapped,
    rate,
    floorS,
    directS,
    bridgeS,
    bridgeRatio: bridgeS / floorS,
    directRatio: directS / floorS,
    fullstoryCalls: calls,
    callsPerChange: calls / (n + mapped),
    peakRssMb: peakMb,
  };
}

const lines: string[] = [];
function report(line: string) {
  lines.push(line);
  process.stdout.write(`${line}\n`);
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function main() {
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  report(`fullstory-scim-bridge benchmark: ${machine.cpus} x ${machine.cpu}, ${machine.memGb} GB, Node ${machine.node}${QUICK ? ' (quick)' : ''}`);
  report('\n1. Overhead over FullStory (the sandbox, rate limit off): latency one at a time, throughput at 32 connections');
  if (ONLY === 'scale') return scaleMode();
  const sqlite = ONLY === 'propagation' || ONLY === 'first-sync' ? { rows: [], idleRssMb: 0, peakRssMb: 0 } : await overhead('sqlite');
  let postgres: Awaited<ReturnType<typeof overhead>> | undefined;
  const pgUp = await (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      return false;
    }
  })();
  if (ONLY) report(`(overhead skipped: BENCH_ONLY=${ONLY})`);
  else if (pgUp) postgres = await overhead('postgres');
  else report('(PostgreSQL unreachable: its rows are skipped)');
  report(`\n2-4. Propagation, import and memory (${SCALE.toLocaleString()} users, FullStory limited to ${PROPAGATION_RATE} requests/s)`);
  const prop = ONLY === 'first-sync' ? undefined : await propagation();
  if (!prop) return void report(`(propagation skipped) first sync: ${JSON.stringify(await firstSync())}`);
  report(
    `  group replace answered in ${prop.answeredS.toFixed(2)} s; FullStory held every role after ${prop.doneS.toFixed(1)} s = ${prop.ratio.toFixed(3)} x the floor of ${prop.floorS.toFixed(1)} s; 429s from FullStory: ${prop.upstream429}; changes failed after retries: ${prop.failedAfterRetries}`,
  );
  report(`  import (count=100 pages): ${prop.importBridgeS.toFixed(2)} s through the bridge vs ${prop.importDirectS.toFixed(2)} s direct`);
  report(
    `  bridge RSS: idle ${prop.idleRssMb.toFixed(0)} MB; peak during import ${prop.importPeakRssMb.toFixed(0)} MB; peak while propagating ${prop.propagationPeakRssMb.toFixed(0)} MB`,
  );

  report(
    `\n5. A first sync bound by FullStory's budget: ${FIRST_SYNC_USERS.toLocaleString()} users (lookup, create) and ${(FIRST_SYNC_USERS / 4).toLocaleString()} mapped to a role, FullStory limited to ${FIRST_SYNC_RATE} requests/s`,
  );
  const first = await firstSync();
  report(
    `  floor (writes FullStory must see / rate) ${first.floorS.toFixed(1)} s; through the bridge ${first.bridgeS.toFixed(1)} s = ${first.bridgeRatio.toFixed(2)} x; direct ${first.directS.toFixed(1)} s = ${first.directRatio.toFixed(2)} x`,
  );
  report(
    `  FullStory calls per change through the bridge: ${first.callsPerChange.toFixed(2)} (${first.fullstoryCalls} calls); bridge peak RSS ${first.peakRssMb.toFixed(0)} MB`,
  );

  const results = {
    at: new Date().toISOString(),
    machine,
    quick: QUICK,
    firstSync: first,
    overhead: [...sqlite.rows, ...(postgres?.rows ?? [])],
    overheadMemory: {
      sqlite: { idleRssMb: sqlite.idleRssMb, peakRssMb: sqlite.peakRssMb },
      ...(postgres ? { postgres: { idleRssMb: postgres.idleRssMb, peakRssMb: postgres.peakRssMb } } : {}),
    },
    propagation: prop,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  // The 100,000-user figures come from their own mode (bench:scale): kept from the last one.
  const file = join(ROOT, 'bench/results/latest.json');
  const scale = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { scale?: unknown }).scale : undefined;
  Object.assign(results, scale ? { scale } : {});
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  report(
    '\nTargets (embedded store): added p50 < 1 ms, p99 < 5 ms; throughput >= 35 % of direct for GET by id, >= 25 % for writes; propagation <= 1.05 x floor with no unhandled 429; peak RSS < 150 MB while propagating.',
  );
  const verdicts = [
    ...sqlite.rows.map((r) => [`${r.scenario}: added p50 ${fmt(r.bridge.p50 - r.direct.p50)} < 1 ms`, r.bridge.p50 - r.direct.p50 < 1] as const),
    ...sqlite.rows.map((r) => [`${r.scenario}: added p99 ${fmt(r.bridge.p99 - r.direct.p99)} < 5 ms`, r.bridge.p99 - r.direct.p99 < 5] as const),
    ...sqlite.rows
      .filter((r) => r.write || r.scenario === 'GET /Users/{id}')
      .map(
        (r) =>
          [
            `${r.scenario}: ${((100 * r.bridge.rps) / r.direct.rps).toFixed(0)} % of direct >= ${r.write ? 25 : 35} %`,
            r.bridge.rps / r.direct.rps >= (r.write ? 0.25 : 0.35),
          ] as const,
      ),
    [`propagation ${prop.ratio.toFixed(3)} x floor <= 1.05`, prop.ratio <= 1.05] as const,
    [`no change failed after retries (${prop.failedAfterRetries})`, prop.failedAfterRetries === 0] as const,
    [`peak RSS while propagating ${prop.propagationPeakRssMb.toFixed(0)} MB < 150 MB`, prop.propagationPeakRssMb < 150] as const,
    [`first sync ${first.bridgeRatio.toFixed(2)} x floor <= 1.1 (direct ${first.directRatio.toFixed(2)} x)`, first.bridgeRatio <= 1.1] as const,
    [`FullStory calls per change ${first.callsPerChange.toFixed(2)} <= 1.1`, first.callsPerChange <= 1.1] as const,
  ];
  for (const [what, ok] of verdicts) report(`  ${ok ? 'met ' : 'MISS'}  ${what}`);
  writeReadmeTable(results as never);
  report('\nWritten to bench/results/latest.json, and the table in docs/benchmarks.md from it');
}

/** `npm run bench:scale`: the propagation part at BENCH_USERS (100,000), merged into latest.json as `scale`. */
async function scaleMode() {
  report(`Scale: ${SCALE.toLocaleString()} users, FullStory limited to ${PROPAGATION_RATE} requests/s`);
  const s = await propagation();
  report(`  Okta import through the bridge (all pages of 100): ${s.importBridgeS.toFixed(1)} s vs ${s.importDirectS.toFixed(1)} s direct`);
  for (const [k, v] of Object.entries(s.lookups)) report(`  ${k} eq: p50 ${fmt(v.p50)}  p99 ${fmt(v.p99)}${v.p99 < 5 ? '' : '  MISS (goal p99 < 5 ms)'}`);
  report(
    `  ${SCALE.toLocaleString()}-member group replace answered in ${s.answeredS.toFixed(2)} s${s.answeredS <= 10 ? '' : '  MISS (goal 10 s)'}; roles in FullStory after ${s.doneS.toFixed(1)} s = ${s.ratio.toFixed(3)} x the floor${s.ratio <= 1.05 ? '' : '  MISS (goal 1.05)'} (${((s.doneS - s.answeredS) / s.floorS).toFixed(3)} x counted from the answer)`,
  );
  report(
    `  store on disk ${s.storeMb.toFixed(0)} MB; bridge RSS idle ${s.idleRssMb.toFixed(0)} MB, peak during import ${s.importPeakRssMb.toFixed(0)} MB, peak while propagating ${s.propagationPeakRssMb.toFixed(0)} MB (goal 150 MB)`,
  );
  const file = join(ROOT, 'bench/results/latest.json');
  const latest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const merged = { ...latest, scale: { at: new Date().toISOString(), ...s } };
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  writeReadmeTable(merged as never);
  report('Merged into bench/results/latest.json as "scale", and the table in docs/benchmarks.md from it');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
