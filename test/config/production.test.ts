import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createBridge } from '../../src/bridge.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const silent = pino({ level: 'silent' });

describe('embedded default, never a silent fallback', () => {
  it('with NODE_ENV=production a missing FullStory token is a startup error, never the sandbox', async () => {
    const config = loadConfig({ NODE_ENV: 'production', IDP_TOKEN: 'x'.repeat(20), DATA_DIR: ':memory:' });
    await expect(createBridge(config, { logger: silent })).rejects.toThrow(ConfigError);
    await expect(createBridge(config, { logger: silent })).rejects.toThrow(/FULLSTORY_SCIM_TOKEN is required/);
  });

  it('outside production, no token means the sandbox, said in the first log line and in every discovery answer', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const bridge = await createBridge(loadConfig({ DATA_DIR: ':memory:' }), { logger });
    try {
      expect(JSON.parse(lines[0]!).msg).toMatch(/^DEMO MODE: .*SANDBOX/);
      expect(bridge.demo?.idpToken).toMatch(/^demo-/);
      const auth = { authorization: `Bearer ${bridge.demo!.idpToken}` };
      for (const url of ['/scim/v2/ServiceProviderConfig', '/scim/v2/ResourceTypes']) {
        const res = await bridge.app.inject({ url, headers: auth });
        expect(res.statusCode).toBe(200);
        expect(res.body).toContain('DEMO: backed by the built-in FullStory sandbox');
      }
    } finally {
      await bridge.close();
    }
  });

  it('FULLSTORY_SANDBOX=true is the explicit way to demo the production container', async () => {
    const bridge = await createBridge(loadConfig({ NODE_ENV: 'production', FULLSTORY_SANDBOX: 'true', IDP_TOKEN: 'x'.repeat(20), DATA_DIR: ':memory:' }), {
      logger: silent,
    });
    expect(bridge.demo).toBeDefined();
    await bridge.close();
  });

  it('without an IdP token outside demo mode the bridge refuses to start and says how to make one', async () => {
    const config = loadConfig({ FULLSTORY_SCIM_TOKEN: 'fs', DATA_DIR: ':memory:' });
    await expect(createBridge(config, { logger: silent })).rejects.toThrow(/No IdP token is configured.*fullstory-scim-bridge token/);
  });
});
