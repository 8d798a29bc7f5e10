import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const self = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const sb = spawn('node', ['dist/cli/index.js', 'sandbox', '--port', '18911', '--token', 'fs', '--rate', '0'], { stdio: 'ignore' });
await sleep(800);
const br = spawn('node', ['dist/cli/index.js', 'serve'], { env: { ...process.env, PORT: '18912', HOST: '127.0.0.1', FULLSTORY_SCIM_URL: 'http://127.0.0.1:18911/scim/v2', FULLSTORY_SCIM_TOKEN: 'fs', IDP_TOKEN: 'bench-idp-token-0123456789', FULLSTORY_RATE_PER_SECOND: '1000000', FULLSTORY_RATE_BURST: '1000000', LOG_LEVEL: 'warn', DATA_DIR: '/tmp/prof/data2', NODE_ENV: 'production' }, stdio: 'inherit' });
await sleep(2000);
const auth = { authorization: 'Bearer bench-idp-token-0123456789', 'content-type': 'application/scim+json' };
const u = await (await fetch('http://127.0.0.1:18912/scim/v2/Users', { method: 'POST', headers: auth, body: JSON.stringify({ userName: `p${Date.now()}@x.com` }) })).json();
for (const [name, url, token] of [['direct', 'http://127.0.0.1:18911', 'fs'], ['bridge', 'http://127.0.0.1:18912', 'bench-idp-token-0123456789']]) {
  const t0 = [ticks(sb.pid), ticks(br.pid), self()];
  const r = await autocannon({ url, connections: 32, duration: 5, headers: { authorization: `Bearer ${token}` }, requests: [{ method: 'GET', path: `/scim/v2/Users/${u.id}` }] });
  const t1 = [ticks(sb.pid), ticks(br.pid), self()];
  const n = r.requests.total;
  console.log(name, 'rps', Math.round(r.requests.average), 'CPU µs per request: sandbox', Math.round((t1[0] - t0[0]) * 1000 / n), 'bridge', Math.round((t1[1] - t0[1]) * 1000 / n), 'autocannon', Math.round((t1[2] - t0[2]) * 1000 / n));
}
br.kill('SIGTERM'); sb.kill('SIGTERM'); await sleep(500);
