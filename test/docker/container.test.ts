import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Needs a Docker engine: builds the image, checks it refuses to start without a
 * FullStory token, then provisions a user through it against the sandbox (run from
 * the same image). Where no engine runs, it is skipped with the reason printed.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
let noDocker: string | undefined;
try {
  const { getContainerRuntimeClient } = await import('testcontainers');
  await getContainerRuntimeClient();
} catch (err) {
  noDocker = (err as Error).message;
  console.warn(`[tests] container test skipped: no Docker engine here (${noDocker})`);
}

describe.skipIf(noDocker !== undefined)('the container image', () => {
  it('builds, refuses to start without a FullStory token, and provisions a user against the sandbox', { timeout: 900_000 }, async () => {
    const { GenericContainer, Network, Wait } = await import('testcontainers');
    const image = await GenericContainer.fromDockerfile(root).build('fullstory-scim-bridge:test', { deleteOnExit: false });

    const refused = await image.withEnvironment({ IDP_TOKEN: 'x'.repeat(20) }).withWaitStrategy(Wait.forOneShotStartup()).start().catch((e: Error) => e);
    expect(String(refused)).toMatch(/exit|FULLSTORY_SCIM_TOKEN/i);

    const network = await new Network().start();
    const sandbox = await new GenericContainer('fullstory-scim-bridge:test')
      .withNetwork(network)
      .withNetworkAliases('sandbox')
      .withCommand(['sandbox', '--host', '0.0.0.0', '--port', '8081', '--token', 'fs-token'])
      .withExposedPorts(8081)
      .withWaitStrategy(Wait.forLogMessage(/sandbox .* at http/))
      .start();
    const bridge = await new GenericContainer('fullstory-scim-bridge:test')
      .withNetwork(network)
      .withEnvironment({ FULLSTORY_SCIM_URL: 'http://sandbox:8081/scim/v2', FULLSTORY_SCIM_TOKEN: 'fs-token', IDP_TOKEN: 'container-idp-token-123' })
      .withExposedPorts(8080)
      .withWaitStrategy(Wait.forHttp('/healthz', 8080))
      .start();
    try {
      const base = `http://${bridge.getHost()}:${bridge.getMappedPort(8080)}`;
      const res = await fetch(`${base}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: 'Bearer container-idp-token-123', 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'docker@example.com', active: true }),
      });
      expect(res.status).toBe(201);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const user = (await fetch(`http://${sandbox.getHost()}:${sandbox.getMappedPort(8081)}/_sandbox/roles`).then((r) => r.json())) as Record<string, string>;
      expect(user['docker@example.com']).toBe('standard');
    } finally {
      await bridge.stop();
      await sandbox.stop();
      await network.stop();
    }
  });
});
