/** The processes a bench run starts (sandbox, pass-through, bridge), and what it reads of them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CLI, PASSTHROUGH, IDP, FS_TOKEN, PG_URL, RUNTIME_NODE_OPTIONS, HELPER_NODE_OPTIONS, RUNTIME_ENV, sleep } from './env.js';

// Below the kernel's ephemeral range (32768-60999), so no outgoing connection holds the port.
export let nextPort = 12_000 + Math.floor(Math.random() * 15_000);

export interface Proc {
  child: ChildProcess;
  url: string;
  close(): Promise<void>;
}

/** Every process the bench started, so that no exit path leaves one running. */
export const children = new Set<ChildProcess>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

export function start(args: string[], env: Record<string, string>, readyPath: string, port: number, script = CLI): Promise<Proc> {
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

export function startSandbox(rate: number, burst = 50): Promise<Proc> {
  const port = nextPort++;
  return start(['sandbox', '--port', String(port), '--token', FS_TOKEN, '--rate', String(rate), '--burst', String(burst)], {}, '/_sandbox/counters', port);
}

export interface BridgeOpts {
  sandbox: Proc;
  store: 'sqlite' | 'postgres';
  rate?: number;
  burst?: number;
  configFile?: string;
  dataDir?: string;
}

/** The floor under the bridge (see passthrough.ts), in front of `sandbox`. */
export function startPassthrough(sandbox: Proc): Promise<Proc> {
  const port = nextPort++;
  return start([String(port), `${sandbox.url}/scim/v2`, FS_TOKEN], {}, '/healthz', port, PASSTHROUGH);
}

export async function startBridge(o: BridgeOpts): Promise<Proc & { pid: number; schema?: string }> {
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
    // The benchmarks grant admin to thousands at once: the load, not a decision to wait for.
    GUARD_APPROVE_ROLES: '',
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

export async function waitReady(url: string): Promise<void> {
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

export async function dropSchema(schema: string | undefined): Promise<void> {
  if (!schema) return;
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
}

/** Peak and current resident memory of a process, from /proc (MB). */
export function memory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export async function json(url: string, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * `BENCH_MEMTRACE=1`: the bridge's heap, external memory and RSS from its /metrics every
 * 250 ms, printed as one line a second to stderr, to see what a peak is made of.
 */
export function memTrace(url: string, label: string): () => void {
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
export function mappings(pid: number): string {
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
export function dirMb(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0) / 2 ** 20;
}
