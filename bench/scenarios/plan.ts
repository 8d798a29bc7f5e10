/** `plan` over every FullStory teammate, as an operator runs it: its time beside the budget's floor, and its peak memory. */
import { spawn } from 'node:child_process';
import { CLI, FS_TOKEN, RUNTIME_ENV, RUNTIME_NODE_OPTIONS, sleep } from '../lib/env.js';
import { memory, type Proc } from '../lib/procs.js';

export interface PlanFigures {
  teammates: number;
  rate: number;
  /** Pages of 100 over the rate: the least time reading FullStory can take. */
  floorS: number;
  seconds: number;
  peakRssMb: number;
  /** What the plan found: its counts. */
  counts: Record<string, number>;
}

/** Runs `plan --format json` on the bridge's data (the same heap limit as the server), sampling its memory until it exits. */
export async function planRun(sandbox: Proc, dataDir: string, configFile: string, teammates: number, rate: number): Promise<PlanFigures> {
  const { seconds, peakRssMb, out } = await cliRun(['plan', '--format', 'json'], sandbox, dataDir, configFile, rate);
  const plan = JSON.parse(out) as Record<string, unknown>;
  const counts = Object.fromEntries(['creates', 'updates', 'deactivations', 'roleChanges', 'unmanaged'].map((k) => [k, Number(plan[k])]));
  return { teammates, rate, floorS: Math.ceil(teammates / 100) / rate, seconds, peakRssMb, counts };
}

/** `access-review --format csv` over every teammate, the same way: its time and peak memory, and the size of what it wrote. */
export async function reviewRun(sandbox: Proc, dataDir: string, configFile: string, teammates: number, rate: number) {
  const { seconds, peakRssMb, out } = await cliRun(['access-review', '--format', 'csv'], sandbox, dataDir, configFile, rate);
  return { teammates, rate, floorS: Math.ceil(teammates / 100) / rate, seconds, peakRssMb, csvMb: Buffer.byteLength(out) / 2 ** 20 };
}

/** A CLI verb on the bridge's data, its stdout kept, its memory sampled until it exits. */
async function cliRun(args: string[], sandbox: Proc, dataDir: string, configFile: string, rate: number) {
  const env = {
    PATH: process.env.PATH ?? '',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    NODE_OPTIONS: RUNTIME_NODE_OPTIONS,
    ...RUNTIME_ENV,
    FULLSTORY_SCIM_URL: `${sandbox.url}/scim/v2`,
    FULLSTORY_SCIM_TOKEN: FS_TOKEN,
    FULLSTORY_RATE_PER_SECOND: String(rate),
    FULLSTORY_RATE_BURST: '50',
    DATA_DIR: dataDir,
    CONFIG_FILE: configFile,
  };
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  let peakRssMb = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  for (let done = false; !done;) {
    try {
      peakRssMb = Math.max(peakRssMb, memory(child.pid!).peakMb);
    } catch {
      // gone between the check and the read
    }
    done = await Promise.race([exited.then(() => true), sleep(50).then(() => false)]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const code = await exited;
  if (code !== 0 && code !== 2) throw new Error(`${args[0]} exited ${code}`);
  return { seconds, peakRssMb, out };
}
