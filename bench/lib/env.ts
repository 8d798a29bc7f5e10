/** The bench's settings (from BENCH_* variables), its paths, and the report it prints and keeps. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export const CLI = join(ROOT, 'dist/cli/index.js');

export const PASSTHROUGH = join(ROOT, 'dist-bench/bench/passthrough.js');

export const IDP = 'bench-idp-token-0123456789abcdef';

export const FS_TOKEN = 'bench-fullstory-token';

export const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const QUICK = process.env.BENCH_QUICK === '1';

/** Throughput: direct and bridge alternate in rounds of this many seconds each. */
export const THROUGHPUT_ROUNDS = QUICK ? 2 : 3;

export const ROUND_SECONDS = QUICK ? 1 : 2;

export const LATENCY_SAMPLES = QUICK ? 200 : 1000;

export const PROPAGATION_RATE = Number(process.env.BENCH_RATE ?? 500);

export const SCALE = Number(process.env.BENCH_USERS ?? (QUICK ? 2_000 : 10_000));

/** BENCH_ONLY=propagation skips the overhead table; BENCH_ONLY=first-sync runs only the first sync (for iterating). */
export const ONLY = process.env.BENCH_ONLY;

/** As the container and `npm start` run the bridge (a smaller young generation: see docs/benchmarks.md). */
export const RUNTIME_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=128';

/**
 * The sandbox and the pass-through: no old-generation cap, since the sandbox keeps every
 * user the run creates (capped like the bridge, it ran out of heap under the POST load).
 */
export const HELPER_NODE_OPTIONS = '--max-semi-space-size=8';

/** glibc's allocator as the container sets it (Dockerfile): freed native memory goes back to the OS. */
export const RUNTIME_ENV = { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072', MALLOC_MMAP_THRESHOLD_: '131072' };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const lines: string[] = [];

export function report(line: string) {
  lines.push(line);
  process.stdout.write(`${line}\n`);
}

export const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
