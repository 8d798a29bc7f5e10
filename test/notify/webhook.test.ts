import { readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from '../../src/notify/webhook.js';
import { makeCa } from '../helpers/certs.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A receiver; `got` keeps each body it read. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void, tls?: { certFile: string; keyFile: string }) {
  const got: string[] = [];
  const wrapped = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push(body);
      handler(req, res);
    });
  };
  const server = tls ? createHttps({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, wrapped) : createHttp(wrapped);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as AddressInfo).port, got };
}

describe('the webhook POST', () => {
  it('verifies TLS: a receiver whose certificate no trusted CA signed never gets the notice, and the error names no URL', async () => {
    const ca = makeCa();
    const { port, got } = await serve((_req, res) => res.writeHead(200).end(), ca.issue('receiver'));
    const hook = new Webhook(`https://localhost:${port}/services/SECRETPATH`);
    closers.push(() => hook.close());
    const err = await hook.post('{"text":"hi"}').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/^the webhook could not be reached: [A-Z_]+$/);
    expect(err?.message).not.toContain('SECRETPATH');
    expect(got).toEqual([]);
  });

  it('follows no redirect: a 3xx is a failure and the place it points to gets nothing', async () => {
    const elsewhere = await serve((_req, res) => res.writeHead(200).end());
    const { port } = await serve((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${elsewhere.port}/steal` }).end());
    const hook = new Webhook(`http://127.0.0.1:${port}/x`);
    closers.push(() => hook.close());
    await expect(hook.post('{"text":"hi"}')).rejects.toThrow('the webhook answered HTTP 307');
    expect(elsewhere.got).toEqual([]);
  });

  it('a 2xx is delivered, as JSON', async () => {
    let type: string | undefined;
    const { port, got } = await serve((req, res) => {
      type = req.headers['content-type'];
      res.writeHead(204).end();
    });
    const hook = new Webhook(`http://127.0.0.1:${port}/x`);
    closers.push(() => hook.close());
    await hook.post('{"text":"hi"}');
    expect([type, got]).toEqual(['application/json', ['{"text":"hi"}']]);
  });
});
