/**
 * Two or more builds of the bridge side by side, for the write paths: one sandbox, one
 * bridge per build (each on its own SQLite file), rounds of 32 connections in which the
 * sandbox straight and every build take turns, the builds' order rotated each round so
 * that none always runs right after the sandbox. Prints, per route, each build's median
 * share of direct (and its rounds' lowest and highest), its CPU per request (from /proc;
 * the main thread's alone too, the thread that limits it), and its added p50 one at a time.
 *
 * npm run bench:vs -- <build dir> <build dir> ...   (a build dir holds dist/ and node_modules/)
 * BENCH_ROUNDS (8), BENCH_ROUND_SECONDS (3), BENCH_LOG_LEVEL (info: the default, as deployed,
 * an access-log line for every write).
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDP, FS_TOKEN, RUNTIME_NODE_OPTIONS, RUNTIME_ENV, report } from './lib/env.js';
import { json, nextPort, start, startSandbox, waitReady, type Proc } from './lib/procs.js';
import { latency, throughput } from './lib/measure.js';
import { writeRoutes, type WriteRoute } from './scenarios/writes.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 3);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const builds = process.argv.slice(2);
if (builds.length === 0) throw new Error('usage: side-by-side.js <build dir> [<build dir> ...]');

interface Build {
  dir: string;
  proc: Proc;
  users: string[];
  group: string;
  n: number;
  shares: number[];
  cpuUs: number[];
  mainUs: number[];
}

/** CPU time the process (or, with `main`, its main thread alone) has used, in ms (user + system, from /proc). */
function cpuMs(pid: number, main = false): number {
  const fields = readFileSync(main ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8')
    .split(') ')[1]!
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startBuild(dir: string, sandbox: Proc, i: number): Promise<Build> {
  const port = nextPort + 100 + i;
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    FULLSTORY_SCIM_URL: `${sandbox.url}/scim/v2`,
    FULLSTORY_SCIM_TOKEN: FS_TOKEN,
    IDP_TOKEN: IDP,
    FULLSTORY_RATE_PER_SECOND: '1000000',
    FULLSTORY_RATE_BURST: '1000000',
    FULLSTORY_IDP_RESERVE: '0',
    GUARD_MAX_DEPROVISIONS: '0',
    GUARD_APPROVE_ROLES: '',
    NODE_ENV: 'production',
    LOG_LEVEL,
    NODE_OPTIONS: RUNTIME_NODE_OPTIONS,
    ...RUNTIME_ENV,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'fsb-vs-')),
  };
  const proc = await start(['serve'], env, '/healthz', port, join(dir, 'dist/cli/index.js'));
  await waitReady(proc.url);
  const users: string[] = [];
  for (let k = 0; k < 200; k++) {
    const body = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `seed${i}_${k}@bench.example`, active: true };
    users.push((await json(proc.url, 'POST', '/scim/v2/Users', IDP, body)).id);
  }
  const group = (await json(proc.url, 'POST', '/scim/v2/Groups', IDP, { displayName: `Bench group ${i}`, members: [] })).id;
  return { dir, proc, users, group, n: 0, shares: [], cpuUs: [], mainUs: [] };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The rounds' lowest and highest share: on a shared VM, a difference inside it is not one. */
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

async function compare(route: WriteRoute, sandbox: Proc, direct: { users: string[]; group: string }, all: Build[]): Promise<void> {
  let d = 0;
  const directReq = () => route.direct(d++, direct.users, direct.group);
  const lat = { direct: (await latency(sandbox.url, FS_TOKEN, route.directMethod, directReq, 0)).p50, builds: [] as number[] };
  for (const b of all) lat.builds.push((await latency(b.proc.url, IDP, route.method, () => route.bridge(b.n++, b.users, b.group), 0)).p50);
  for (const b of all) Object.assign(b, { shares: [], cpuUs: [], mainUs: [] });
  // One round untimed: every process's code compiled before anything is counted.
  await throughput(sandbox.url, FS_TOKEN, route.directMethod, directReq, SECONDS);
  for (const b of all) await throughput(b.proc.url, IDP, route.method, () => route.bridge(b.n++, b.users, b.group), SECONDS);
  for (let r = 0; r < ROUNDS; r++) {
    const base = await throughput(sandbox.url, FS_TOKEN, route.directMethod, directReq, SECONDS);
    for (const b of [...all.slice(r % all.length), ...all.slice(0, r % all.length)]) {
      const pid = b.proc.child.pid!;
      const [before, mainBefore] = [cpuMs(pid), cpuMs(pid, true)];
      const t = await throughput(b.proc.url, IDP, route.method, () => route.bridge(b.n++, b.users, b.group), SECONDS);
      b.cpuUs.push(((cpuMs(pid) - before) * 1000) / t.requests);
      b.mainUs.push(((cpuMs(pid, true) - mainBefore) * 1000) / t.requests);
      b.shares.push(t.requests / t.seconds / (base.requests / base.seconds));
    }
  }
  for (const [i, b] of all.entries())
    report(
      `${route.name.padEnd(32)} ${b.dir.padEnd(24)} ${median(b.shares).toFixed(3)} of direct (rounds ${spread(b.shares)}), ` +
        `${median(b.cpuUs).toFixed(0)} µs CPU a request (main thread ${median(b.mainUs).toFixed(0)}), p50 +${(lat.builds[i]! - lat.direct).toFixed(2)} ms`,
    );
}

const sandbox = await startSandbox(0);
const all: Build[] = [];
for (const [i, dir] of builds.entries()) all.push(await startBuild(dir, sandbox, i));
const direct = { users: [] as string[], group: '' };
for (let k = 0; k < 200; k++)
  direct.users.push((await json(sandbox.url, 'POST', '/scim/v2/Users', FS_TOKEN, { userName: `direct${k}@bench.example`, active: true })).id);
direct.group = (await json(sandbox.url, 'POST', '/scim/v2/Groups', FS_TOKEN, { displayName: 'Bench direct', members: [] })).id;
for (const route of writeRoutes()) await compare(route, sandbox, direct, all);
for (const b of all) await b.proc.close();
await sandbox.close();
process.exit(0);
