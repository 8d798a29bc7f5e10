import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const scenario = process.argv[2] ?? 'get';
const sb = spawn('node', ['dist/cli/index.js', 'sandbox', '--port', '18901', '--token', 'fs', '--rate', '0'], { stdio: 'ignore' });
await sleep(800);
const br = spawn('node', ['--cpu-prof', '--cpu-prof-dir=/tmp/prof', 'dist/cli/index.js', 'serve'], { env: { ...process.env, PORT: '18902', HOST: '127.0.0.1', FULLSTORY_SCIM_URL: 'http://127.0.0.1:18901/scim/v2', FULLSTORY_SCIM_TOKEN: 'fs', IDP_TOKEN: 'bench-idp-token-0123456789', FULLSTORY_RATE_PER_SECOND: '1000000', FULLSTORY_RATE_BURST: '1000000', LOG_LEVEL: 'warn', DATA_DIR: '/tmp/prof/data', NODE_ENV: 'production' }, stdio: 'inherit' });
await sleep(2000);
const auth = { authorization: 'Bearer bench-idp-token-0123456789', 'content-type': 'application/scim+json' };
const u = await (await fetch('http://127.0.0.1:18902/scim/v2/Users', { method: 'POST', headers: auth, body: JSON.stringify({ userName: `p${Date.now()}@x.com` }) })).json();
let n = 0;
const reqs = {
  get: { method: 'GET', path: `/scim/v2/Users/${u.id}` },
  post: { method: 'POST', setupRequest: (r) => ({ ...r, path: '/scim/v2/Users', body: JSON.stringify({ userName: `x${n++}-${Date.now()}@x.com` }) }) },
  patch: { method: 'PATCH', setupRequest: (r) => ({ ...r, path: `/scim/v2/Users/${u.id}`, body: JSON.stringify({ Operations: [{ op: 'Replace', path: 'active', value: n++ % 2 ? 'True' : 'False' }] }) }) },
}[scenario];
const r = await autocannon({ url: 'http://127.0.0.1:18902', connections: 32, duration: 5, headers: auth, requests: [reqs] });
console.log(scenario, 'rps', Math.round(r.requests.average), 'non2xx', r.non2xx);
br.kill('SIGTERM'); await sleep(1500); sb.kill('SIGTERM');
