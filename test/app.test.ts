import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G, GROUP_SCHEMA, IDP_TOKEN, startTestBridge, type TestBridge } from './helpers/bridge.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('the app', () => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ startWorker: false });
  });
  afterAll(async () => t?.close());

  it('keeps nothing of a request body once it is answered, even when nothing follows it', async () => {
    const group = (await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Big', members: [] })).body;
    const members = Array.from({ length: 60_000 }, (_, i) => ({ value: `not-a-user-${i.toString().padStart(8, '0')}` }));
    // Outside the JS heap, so that the heap holds only what the bridge made of it.
    const payload = Buffer.from(JSON.stringify({ schemas: [GROUP_SCHEMA], displayName: 'Big', members }));
    members.length = 0;
    const before = heapAfterGc();
    // Refused (no such users), but parsed whole first: about 6 MB of objects if anything kept them.
    const res = await t.bridge.app.inject({
      method: 'PUT',
      url: `${G}/${group.id}`,
      payload,
      headers: { authorization: `Bearer ${IDP_TOKEN}`, 'content-type': 'application/scim+json' },
    });
    expect(res.statusCode).toBe(400);
    const kept = heapAfterGc() - before;
    expect(kept).toBeLessThan(2 * 1024 * 1024);
  });
});
