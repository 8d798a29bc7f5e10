/**
 * The floor under the bridge: the same stack (Fastify, the bridge's own undici exchange,
 * JSON in and out) passing GET /Users/{id} and POST /Users straight to FullStory, and
 * nothing else: no token check, no store, no rate budget, no mapping, no metrics. The
 * bench measures it beside the bridge, so that what the stack costs on this machine and
 * what the bridge's own work costs are told apart.
 *
 * node dist-bench/bench/passthrough.js <port> <FullStory base URL> <FullStory token>
 */
import Fastify, { type FastifyReply } from 'fastify';
import { Pool } from 'undici';
import { exchange } from '../src/fullstory/client.js';

const [port, upstream, token] = process.argv.slice(2);
if (!port || !upstream || !token) throw new Error('usage: passthrough.js <port> <FullStory base URL> <FullStory token>');
const base = new URL(upstream);
const pool = new Pool(base.origin, { connections: 64 });
// The headers the bridge sends FullStory.
const headers = { authorization: `Bearer ${token}`, accept: 'application/scim+json, application/json', 'user-agent': 'fullstory-scim-bridge' };
const bodyHeaders = { ...headers, 'content-type': 'application/scim+json' };

const app = Fastify({ logger: false });
app.addContentTypeParser(['application/scim+json', 'application/json'], { parseAs: 'string' }, (_req, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (err) {
    done(err as Error);
  }
});
const answer = (reply: FastifyReply, r: { statusCode: number; text: string }) =>
  reply
    .code(r.statusCode)
    .type('application/scim+json')
    .send(JSON.stringify(JSON.parse(r.text)));

app.get<{ Params: { id: string } }>('/scim/v2/Users/:id', async (req, reply) =>
  answer(reply, await exchange(pool, { method: 'GET', path: `${base.pathname}/Users/${encodeURIComponent(req.params.id)}`, headers })),
);
app.post('/scim/v2/Users', async (req, reply) =>
  answer(reply, await exchange(pool, { method: 'POST', path: `${base.pathname}/Users`, headers: bodyHeaders, body: JSON.stringify(req.body) })),
);
app.get('/healthz', async () => 'ok');

await app.listen({ port: Number(port), host: '127.0.0.1' });
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(
    signal,
    () =>
      void app
        .close()
        .then(() => pool.close())
        .then(() => process.exit(0)),
  );
