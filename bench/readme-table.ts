/**
 * The benchmark table of docs/benchmarks.md, made from bench/results/latest.json and written between
 * its markers: `npm run bench` calls it, and `node dist-bench/bench/readme-table.js`
 * redoes it from the last results.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START = '<!-- bench:start (made by npm run bench from bench/results/latest.json) -->';
const END = '<!-- bench:end -->';

interface Results {
  at: string;
  quick: boolean;
  machine: { cpus: number; cpu: string; node: string };
  overhead: { store: string; scenario: string; direct: { p50: number; rps: number }; bridge: { p50: number; rps: number } }[];
  propagation?: { users: number; rate: number; ratio: number; propagationPeakRssMb: number; answeredS: number };
  overheadMemory?: { sqlite?: { peakRssMb: number } };
  scale?: {
    at: string;
    machine?: string;
    users: number;
    rate: number;
    importBridgeS: number;
    importDirectS: number;
    lookups: Record<string, { p50: number; p99: number }>;
    answeredS: number;
    ratio: number;
    storeMb: number;
    importPeakRssMb: number;
    propagationPeakRssMb: number;
    plan?: { teammates: number; rate: number; floorS: number; seconds: number; peakRssMb: number };
    review?: { teammates: number; rate: number; seconds: number; peakRssMb: number };
  };
  firstSync?: {
    users: number;
    mapped: number;
    rate: number;
    floorS: number;
    bridgeS: number;
    directS: number;
    bridgeRatio: number;
    directRatio: number;
    callsPerChange: number;
    peakRssMb: number;
  };
}

export function renderTable(r: Results): string {
  const rows = r.overhead
    .filter((o) => o.store === 'sqlite')
    .map(
      (o) =>
        `| ${o.scenario} | +${(o.bridge.p50 - o.direct.p50).toFixed(2)} ms | ${Math.round(o.bridge.rps)} rps (${((100 * o.bridge.rps) / o.direct.rps).toFixed(0)} % of ${Math.round(o.direct.rps)}) |`,
    );
  const f = r.firstSync;
  const p = r.propagation;
  return [
    START,
    `Last run ${r.at.slice(0, 10)}${r.quick ? ' (quick mode)' : ''}, ${r.machine.cpus} x ${r.machine.cpu}, Node ${r.machine.node}; SQLite store; baseline: the sandbox straight.`,
    '',
    '| figure | through the bridge | beside |',
    '|---|---|---|',
    ...(f
      ? [
          `| first sync: ${f.users} users (lookup, create), ${f.mapped} mapped to a role, FullStory at ${f.rate}/s | ${f.bridgeS.toFixed(1)} s = ${f.bridgeRatio.toFixed(2)} x the floor | direct ${f.directS.toFixed(1)} s = ${f.directRatio.toFixed(2)} x; floor ${f.floorS.toFixed(1)} s |`,
          `| FullStory calls per IdP change (that first sync) | ${f.callsPerChange.toFixed(2)} | direct: 2 per create |`,
          `| bridge peak RSS (that first sync) | ${f.peakRssMb.toFixed(0)} MB | goal 150 MB |`,
        ]
      : []),
    ...(r.overheadMemory?.sqlite
      ? [`| bridge peak RSS under 32 connections of GETs and PATCHes | ${r.overheadMemory.sqlite.peakRssMb.toFixed(0)} MB | goal 150 MB |`]
      : []),
    ...(p
      ? [
          `| role propagation: ${p.users} members, FullStory at ${p.rate}/s | ${p.ratio.toFixed(3)} x the floor; answered in ${p.answeredS.toFixed(2)} s | peak RSS ${p.propagationPeakRssMb.toFixed(0)} MB |`,
        ]
      : []),
    ...(r.scale
      ? [
          `| ${r.scale.users.toLocaleString('en')} users (npm run bench:scale, ${r.scale.at.slice(0, 10)}${r.scale.machine ? `, ${r.scale.machine}` : ''}): Okta import, all pages | ${r.scale.importBridgeS.toFixed(1)} s | direct ${r.scale.importDirectS.toFixed(1)} s |`,
          ...Object.entries(r.scale.lookups).map(
            ([k, v]) =>
              `| ${r.scale!.users.toLocaleString('en')} users: \`${k} eq\` lookup | p50 ${v.p50.toFixed(2)} ms, p99 ${v.p99.toFixed(2)} ms | goal p99 < 5 ms |`,
          ),
          `| ${r.scale.users.toLocaleString('en')}-member group replace; its roles at ${r.scale.rate}/s | answered in ${r.scale.answeredS.toFixed(2)} s; ${r.scale.ratio.toFixed(3)} x the floor | goals 10 s, 1.05 x |`,
          `| ${r.scale.users.toLocaleString('en')} users: store on disk; bridge peak RSS (import / propagation) | ${r.scale.storeMb.toFixed(0)} MB; ${r.scale.importPeakRssMb.toFixed(0)} / ${r.scale.propagationPeakRssMb.toFixed(0)} MB | goal 150 MB |`,
          ...(r.scale.plan
            ? [
                `| \`plan\` over ${r.scale.plan.teammates.toLocaleString('en')} FullStory teammates at ${r.scale.plan.rate}/s | ${r.scale.plan.seconds.toFixed(1)} s; peak RSS ${r.scale.plan.peakRssMb.toFixed(0)} MB | reading every page direct ${r.scale.importDirectS.toFixed(1)} s |`,
              ]
            : []),
          ...(r.scale.review
            ? [
                `| access review (CSV) over ${r.scale.review.teammates.toLocaleString('en')} FullStory teammates at ${r.scale.review.rate}/s | ${r.scale.review.seconds.toFixed(1)} s; peak RSS ${r.scale.review.peakRssMb.toFixed(0)} MB | reading every page direct ${r.scale.importDirectS.toFixed(1)} s |`,
              ]
            : []),
        ]
      : []),
    '',
    '| IdP request, one at a time / 32 connections | added p50 | throughput |',
    '|---|---|---|',
    ...rows,
    END,
  ].join('\n');
}

export function writeReadmeTable(results: Results): void {
  // The figures live in docs/benchmarks.md, not the README (which changed in half of all commits for them).
  const file = join(ROOT, 'docs/benchmarks.md');
  const readme = readFileSync(file, 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('docs/benchmarks.md has no benchmark markers');
  writeFileSync(file, readme.slice(0, a) + renderTable(results) + readme.slice(b + END.length));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeReadmeTable(JSON.parse(readFileSync(join(ROOT, 'bench/results/latest.json'), 'utf8')) as Results);
}
