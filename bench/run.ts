/**
 * npm run bench: the bridge's cost over FullStory (the sandbox), measured side by side
 * in one run on this machine. The sandbox and the bridge run as separate processes on
 * loopback; every figure is printed beside its baseline and written to
 * bench/results/latest.json. Bounded: about three minutes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeReadmeTable } from './readme-table.js';
import { ROOT, PG_URL, QUICK, PROPAGATION_RATE, SCALE, ONLY, report, fmt } from './lib/env.js';
import { overhead } from './scenarios/overhead.js';
import { propagation } from './scenarios/propagation.js';
import { FIRST_SYNC_USERS, FIRST_SYNC_RATE, firstSync } from './scenarios/first-sync.js';

async function main() {
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGb: Math.round(totalmem() / 2 ** 30), node: process.version };
  report(`fullstory-scim-bridge benchmark: ${machine.cpus} x ${machine.cpu}, ${machine.memGb} GB, Node ${machine.node}${QUICK ? ' (quick)' : ''}`);
  report('\n1. Overhead over FullStory (the sandbox, rate limit off): latency one at a time, throughput at 32 connections');
  if (ONLY === 'scale') return scaleMode();
  const sqlite = ONLY === 'propagation' || ONLY === 'first-sync' ? { rows: [], idleRssMb: 0, peakRssMb: 0 } : await overhead('sqlite');
  let postgres: Awaited<ReturnType<typeof overhead>> | undefined;
  const pgUp = await pgReachable();
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
  report(`  ${planLine(prop)}`);
  report(`  ${reviewLine(prop)}`);
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
  const verdicts = targets(sqlite.rows, prop, first);
  for (const [what, ok] of verdicts) report(`  ${ok ? 'met ' : 'MISS'}  ${what}`);
  writeReadmeTable(results as never);
  report('\nWritten to bench/results/latest.json, and the table in docs/benchmarks.md from it');
}

type Row = Awaited<ReturnType<typeof overhead>>['rows'][number];

/** Each target of the run, in words, and whether it was met. */
function targets(rows: Row[], prop: Awaited<ReturnType<typeof propagation>>, first: Awaited<ReturnType<typeof firstSync>>): (readonly [string, boolean])[] {
  return [
    ...rows.map((r) => [`${r.scenario}: added p50 ${fmt(r.bridge.p50 - r.direct.p50)} < 1 ms`, r.bridge.p50 - r.direct.p50 < 1] as const),
    ...rows.map((r) => [`${r.scenario}: added p99 ${fmt(r.bridge.p99 - r.direct.p99)} < 5 ms`, r.bridge.p99 - r.direct.p99 < 5] as const),
    ...rows
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
}

/** `plan` beside its floor (the pages FullStory must serve, at the budget's rate), with its peak memory. */
function planLine(s: Awaited<ReturnType<typeof propagation>>): string {
  const p = s.plan;
  return `plan over ${p.teammates.toLocaleString()} teammates: ${p.seconds.toFixed(1)} s, beside ${s.importDirectS.toFixed(1)} s to read every page straight from FullStory (the budget's floor: ${p.floorS.toFixed(1)} s at ${p.rate}/s); peak RSS ${p.peakRssMb.toFixed(0)} MB; found ${JSON.stringify(p.counts)}`;
}

/** The access review beside the time to read every page straight from FullStory, with its peak memory. */
function reviewLine(s: Awaited<ReturnType<typeof propagation>>): string {
  const r = s.review;
  return `access review over ${r.teammates.toLocaleString()} teammates (CSV, ${r.csvMb.toFixed(1)} MB): ${r.seconds.toFixed(1)} s, beside ${s.importDirectS.toFixed(1)} s to read every page straight from FullStory (floor ${r.floorS.toFixed(1)} s at ${r.rate}/s); peak RSS ${r.peakRssMb.toFixed(0)} MB`;
}

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
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
  report(`  ${reviewLine(s)}`);
  report(`  ${planLine(s)}${s.plan.seconds <= 2 * s.importDirectS + 2 ? '' : '  MISS (goal: about the time to read FullStory)'}`);
  report(
    `  store on disk ${s.storeMb.toFixed(0)} MB; bridge RSS idle ${s.idleRssMb.toFixed(0)} MB, peak during import ${s.importPeakRssMb.toFixed(0)} MB, peak while propagating ${s.propagationPeakRssMb.toFixed(0)} MB (goal 150 MB)`,
  );
  const file = join(ROOT, 'bench/results/latest.json');
  const latest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const merged = { ...latest, scale: { at: new Date().toISOString(), machine: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`, ...s } };
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
