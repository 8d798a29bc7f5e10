import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFullStory } from '../../src/fullstory/upstream.js';
import { startTestBridge, type TestBridge } from '../helpers/bridge.js';

const OPS = 'ops-token-for-the-capabilities-test-0123';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

describe('a capability is said in one set of words by check, /readyz and the console', () => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ profile: 'strict', config: { ops: { token: OPS } } });
  });
  afterAll(async () => t?.close());

  it('every finding check prints about what FullStory supports is in /readyz under its name and on the console', async () => {
    const check = await checkFullStory(t.bridge.core.config);
    const ready = (await t.bridge.app.inject({ method: 'GET', url: '/readyz' })).json();
    const console = (await t.bridge.app.inject({ method: 'GET', url: '/console', headers: { authorization: `Bearer ${OPS}` } })).body;
    const names = ['capabilities', 'discovery', 'group-filters', 'page-size', 'user-roles', 'role-groups'];
    expect(Object.keys(ready.capabilities)).toEqual(names);
    for (const name of names) {
      const said = check.checks.find((c) => c.name === name)!.message;
      expect(ready.capabilities[name], name).toBe(said);
      expect(console, name).toContain(esc(said));
    }
  });
});
