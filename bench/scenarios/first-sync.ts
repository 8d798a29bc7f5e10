/** Part 5: a first sync bound by FullStory's budget, direct against the bridge. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDP, FS_TOKEN, QUICK, sleep } from '../lib/env.js';
import { startSandbox, startBridge, memory, json } from '../lib/procs.js';

export const FIRST_SYNC_USERS = QUICK ? 500 : 2_000;

export const FIRST_SYNC_RATE = Number(process.env.BENCH_FIRST_SYNC_RATE ?? 100);

/** Runs `jobs` with `width` at a time. */
export async function pooled(jobs: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

/** A client that keeps to `rate` calls a second by itself, as a well-behaved direct integration would. */
export function paced(rate: number): () => Promise<void> {
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
export async function firstSync() {
  const n = FIRST_SYNC_USERS;
  const mapped = n / 4;
  const rate = FIRST_SYNC_RATE;
  const floorS = (n + mapped) / rate;
  const body = (i: number, who: string) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${who}${i}@first.example`, active: true });

  const directS = await directRun(n, mapped, rate, body);

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

type Body = (i: number, who: string) => Record<string, unknown>;

/** Direct: the IdP's calls go to FullStory one for one (lookup, create, then a role write per mapped user). */
async function directRun(n: number, mapped: number, rate: number, body: Body): Promise<number> {
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

  return directS;
}
