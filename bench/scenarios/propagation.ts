/** Parts 2-4: an import, lookups, a large group replace and its roles reaching FullStory, with memory. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { IDP, FS_TOKEN, PROPAGATION_RATE, SCALE, sleep } from '../lib/env.js';
import { startSandbox, startBridge, memory, json, memTrace, mappings, dirMb } from '../lib/procs.js';
import { planRun, reviewRun } from './plan.js';

export async function propagation() {
  const rate = PROPAGATION_RATE;
  // Unlimited while seeding and importing; FullStory's limit for the propagation.
  const sandbox = await startSandbox(0);
  const dir = mkdtempSync(join(tmpdir(), 'fsb-bench-cfg-'));
  const configFile = join(dir, 'bridge.yaml');
  writeFileSync(configFile, 'roles:\n  groups:\n    "FS Admins": admin\n');
  const { ids, made } = await seed(sandbox.url);
  const dataDir = mkdtempSync(join(tmpdir(), 'fsb-bench-prop-'));
  const { idle, importBridgeS, importDirectS, lookups, afterImport } = await importPhase(sandbox, configFile, dataDir);

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
  // What FullStory holds now against the index: plan over every teammate, within the same budget.
  const plan = await planRun(sandbox, dataDir, configFile, SCALE, rate);
  const review = await reviewRun(sandbox, dataDir, configFile, SCALE, rate);
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
    plan,
    review,
    seeded: made,
  };
}

/** p50/p99 of `eq` lookups through the bridge on each indexed key, 1,000 random users one at a time, after 50 to warm up. */
export async function lookupFigures(url: string, n: number) {
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

/** SCALE users made straight in FullStory (the sandbox), before the bridge starts: the import indexes them, as Okta's would. */
async function seed(url: string): Promise<{ ids: string[]; made: number }> {
  const seedPool = new Pool(url, { connections: 16 });
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
  return { ids, made };
}

/** Okta's import through the bridge and straight to FullStory, then lookups on the settled index, with memory. */
async function importPhase(sandbox: Awaited<ReturnType<typeof startSandbox>>, configFile: string, dataDir: string) {
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

  return { idle, importBridgeS, importDirectS, lookups, afterImport };
}
