/**
 * How long the filters that the index cannot answer take, beside the ones it can, on a
 * store of BENCH_USERS users (100,000 by default): `node dist-bench/bench/scan.js`.
 * The same path the service runs: parseFilter, then an index query or provisioning's scan.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keysetPages, scan } from '../src/provisioning/scan.js';
import { parseFilter } from '../src/scim/filter.js';
import { filterableUserAttr } from '../src/scim/user.js';
import { Store, USER_FILTER_VOCABULARY } from '../src/store/store.js';

const N = Number(process.env.BENCH_USERS ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'fsb-scan-'));
const store = await Store.open({ dataDir: dir });
const ms = (t0: number) => performance.now() - t0;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

try {
  let t0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    await store.transaction(async (tx) => {
      for (let j = i; j < Math.min(N, i + 1000); j++) {
        const userName = `user${j}@example.com`;
        await tx.users.insert({
          id: `id-${j}`,
          role: 'standard',
          resource: {
            userName,
            displayName: `User ${j}`,
            externalId: `ext-${j}`,
            active: j % 10 !== 0,
            emails: [{ value: userName, type: 'work' }],
            name: { familyName: `Family${j % 997}` },
          },
        });
      }
    });
  }
  console.log(`seeded ${N} users in ${(ms(t0) / 1000).toFixed(1)} s; store ${(statSync(join(dir, 'bridge.sqlite')).size / 1e6).toFixed(0)} MB (+WAL)`);

  const lookups = {
    userName: (j: number) => `userName eq "user${j}@example.com"`,
    externalId: (j: number) => `externalId eq "ext-${j}"`,
    'emails.value': (j: number) => `emails.value eq "user${j}@example.com"`,
  };
  for (const [name, f] of Object.entries(lookups)) {
    const times: number[] = [];
    for (let k = 0; k < 2000; k++) {
      const parsed = parseFilter(f(Math.floor(Math.random() * N)), USER_FILTER_VOCABULARY, filterableUserAttr);
      const t = performance.now();
      if (!('terms' in parsed)) throw new Error(`${name} is not an index lookup`);
      const found = await store.read((r) => r.users.query(parsed.terms, 0, 100));
      times.push(ms(t));
      if (found.total !== 1) throw new Error(`${name}: ${found.total} found`);
    }
    console.log(`index lookup ${name} eq: p50 ${pct(times, 50).toFixed(3)} ms, p99 ${pct(times, 99).toFixed(3)} ms`);
  }

  const scans = [
    'displayName co "99"',
    'name.familyName sw "Family9" and active eq false',
    'userName eq "user1@example.com" or emails[type eq "work" and value ew "7@example.com"]',
  ];
  for (const f of scans) {
    const parsed = parseFilter(f, USER_FILTER_VOCABULARY, filterableUserAttr);
    if (!('match' in parsed)) throw new Error(`${f} was expected to scan`);
    const rss0 = process.memoryUsage().rss;
    t0 = performance.now();
    const rows = await scan(
      keysetPages(
        (after, limit) => store.read((r) => r.users.page(after, limit)),
        (row) => row.id,
      ),
      (row) => ({ ...row.resource, id: row.id }),
      { match: parsed.match },
    );
    console.log(
      `scan ${JSON.stringify(f)}: ${rows.length} of ${N} in ${ms(t0).toFixed(0)} ms, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB (${((process.memoryUsage().rss - rss0) / 1e6).toFixed(0)} MB more)`,
    );
  }
  t0 = performance.now();
  const sorted = await scan(
    keysetPages(
      (after, limit) => store.read((r) => r.users.page(after, limit)),
      (row) => row.id,
    ),
    (row) => ({ ...row.resource, id: row.id }),
    { sortBy: 'name.familyName', descending: true },
  );
  console.log(`sortBy name.familyName over ${sorted.length}: ${ms(t0).toFixed(0)} ms`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
