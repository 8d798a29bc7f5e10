/** Latency one request at a time and throughput at 32 connections, direct and through the bridge in alternating rounds. */
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { IDP, FS_TOKEN, THROUGHPUT_ROUNDS, ROUND_SECONDS, LATENCY_SAMPLES } from './env.js';

/** What one operation sends, through the bridge and straight to FullStory. */
export interface Scenario {
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  /** Request n (0, 1, ...) for the bridge and for the sandbox. */
  bridge: (n: number) => { path: string; body?: unknown };
  direct: (n: number) => { path: string; body?: unknown };
  write: boolean;
  /** Also measured through the pass-through (the stack alone), which forwards the direct requests. */
  passthrough?: boolean;
}

export interface Figures {
  p50: number;
  p99: number;
  rps: number;
  non2xx: number;
}

export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

export async function latency(
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
export async function throughput(
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
export async function measure(
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
