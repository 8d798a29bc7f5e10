import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createBridge } from '../src/bridge.js';
import { makeLogger } from '../src/logging.js';
import { loadConfig } from '../src/config/load.js';
import { eventually } from './helpers/bridge.js';

describe('the composition root', () => {
  it("makeLogger's lines never carry a token or a password, wherever in the object it is logged", () => {
    let out = '';
    const logger = makeLogger(loadConfig({}, { log: { level: 'info', format: 'json' } }), new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }));
    logger.info(
      {
        req: { headers: { authorization: 'Bearer idp-secret-1' } },
        headers: { authorization: 'Bearer idp-secret-2' },
        token: 'secret-3',
        upstream: { token: 'secret-4', password: 'secret-5' },
        config: { fullstory: { token: 'secret-6' }, idp: { token: 'secret-7' } },
      },
      'with secrets',
    );
    expect(out).toContain('with secrets');
    for (const s of ['idp-secret-1', 'idp-secret-2', 'secret-3', 'secret-4', 'secret-5', 'secret-6', 'secret-7']) expect(out).not.toContain(s);
  });

  it('a start that fails after the demo sandbox is listening closes it again (no socket left behind)', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    // Demo mode starts the built-in sandbox first; then the store cannot be opened (nothing listens on port 9).
    const config = loadConfig({}, { database: { url: 'postgres://postgres@127.0.0.1:9/test' }, log: { level: 'silent' } });
    await expect(createBridge(config)).rejects.toThrow(/ECONNREFUSED/);
    // A closed server's handle goes a moment after close() resolves; a leaked one stays.
    await eventually(() => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length === before, 'the sandbox server handle to go', 2_000);
  });
});
