import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The image as it is deployed, on a real Docker engine (`scripts/docker-engine up`
 * starts one and builds CONTAINER_IMAGE where the machine allows; .ci/run does). Where
 * no engine runs, skipped with the reason printed.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const IMAGE = process.env.CONTAINER_IMAGE ?? 'fullstory-scim-bridge:test';
const IDP = 'container-idp-token-123';
const docker = (...args: string[]) => promisify(execFile)('docker', args, { timeout: 60_000 }).then((r) => r.stdout.trim());

let noDocker: string | undefined = process.env.CONTAINER_TEST_SKIP;
if (!noDocker)
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch (err) {
    noDocker = (err as Error).message;
    console.warn(`[tests] container test skipped: no Docker engine here (${noDocker})`);
  }

describe.skipIf(noDocker !== undefined)('the container image', () => {
  type Tc = typeof import('testcontainers');
  let tc: Tc;
  let network: Awaited<ReturnType<InstanceType<Tc['Network']>['start']>>;
  let sandboxUrl: string;
  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    tc = await import('testcontainers');
    // The image .ci/run built; else built here (minutes on a vfs engine).
    const built = await docker('image', 'inspect', IMAGE).then(
      () => true,
      () => false,
    );
    if (!built) await tc.GenericContainer.fromDockerfile(root).build(IMAGE, { deleteOnExit: false });
    network = await new tc.Network().start();
    const sandbox = await new tc.GenericContainer(IMAGE)
      .withNetwork(network)
      .withNetworkAliases('sandbox')
      .withCommand(['sandbox', '--host', '0.0.0.0', '--port', '8081', '--token', 'fs-token', '--latency-ms', '300'])
      .withExposedPorts(8081)
      .withWaitStrategy(tc.Wait.forLogMessage(/sandbox .* at http/))
      .start();
    stops.push(() => sandbox.stop());
    sandboxUrl = `http://${sandbox.getHost()}:${sandbox.getMappedPort(8081)}`;
  }, 900_000);
  afterAll(async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await network?.stop().catch(() => undefined);
  });

  const bridgeOn = (dataDir?: string) => {
    let c = new tc.GenericContainer(IMAGE)
      .withNetwork(network)
      .withEnvironment({ FULLSTORY_SCIM_URL: 'http://sandbox:8081/scim/v2', FULLSTORY_SCIM_TOKEN: 'fs-token', IDP_TOKEN: IDP, SHUTDOWN_GRACE_MS: '10000' })
      .withExposedPorts(8080)
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .withStartupTimeout(120_000);
    if (dataDir) c = c.withBindMounts([{ source: dataDir, target: '/data' }]);
    return c.start();
  };
  const scim = (base: string, method: string, path: string, body?: unknown) =>
    fetch(`${base}/scim/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${IDP}`, 'content-type': 'application/scim+json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it('refuses to start without a FullStory token, saying so, and exits non-zero', async () => {
    const c = await new tc.GenericContainer(IMAGE)
      .withEnvironment({ IDP_TOKEN: IDP })
      .withWaitStrategy(tc.Wait.forLogMessage(/FULLSTORY_SCIM_TOKEN/))
      .start();
    const code = await docker('wait', c.getId());
    expect(Number(code)).not.toBe(0);
    const logs = await promisify(execFile)('sh', ['-c', `docker logs ${c.getId()} 2>&1`]).then((r) => r.stdout);
    expect(logs).toMatch(/FULLSTORY_SCIM_TOKEN is required when NODE_ENV=production/);
  }, 120_000);

  it('turns healthy by its HEALTHCHECK, runs as uid 1000, and provisions a user through the sandbox container', async () => {
    const bridge = await bridgeOn();
    stops.push(() => bridge.stop());
    expect(await docker('inspect', '-f', '{{.State.Health.Status}}', bridge.getId())).toBe('healthy');
    expect((await bridge.exec(['id', '-u'])).output.trim()).toBe('1000');
    // The CLI is on the PATH inside the image, as the README's `docker exec` lines type it.
    const version = await bridge.exec(['fullstory-scim-bridge', '--version']);
    expect([version.exitCode, version.output.trim()]).toEqual([0, expect.stringMatching(/^fullstory-scim-bridge \d+\.\d+\.\d+$/)]);
    const holds = await bridge.exec(['fullstory-scim-bridge', 'holds']);
    expect([holds.exitCode, holds.output]).toEqual([0, expect.stringContaining('0 changes held')]);
    const base = `http://${bridge.getHost()}:${bridge.getMappedPort(8080)}`;
    const res = await scim(base, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'docker@example.com', active: true });
    expect(res.status).toBe(201);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const roles = (await fetch(`${sandboxUrl}/_sandbox/roles`).then((r) => r.json())) as Record<string, string>;
    expect(roles['docker@example.com']).toBe('standard');
  }, 180_000);

  it('SIGTERM lets an in-flight request finish and exits 0 within the grace; the SQLite data survives a restart on its volume', async () => {
    const data = mkdtempSync(join(tmpdir(), 'fsb-container-data-'));
    chmodSync(data, 0o777);
    const first = await bridgeOn(data);
    const base = `http://${first.getHost()}:${first.getMappedPort(8080)}`;
    const group = await scim(base, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Survives restarts' });
    expect(group.status).toBe(201);
    const groupId = ((await group.json()) as { id: string }).id;
    // In flight: a create that waits on the sandbox's 300 ms latency when the signal comes.
    const inflight = scim(base, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'inflight@example.com' });
    await new Promise((r) => setTimeout(r, 100));
    const signalled = Date.now();
    await docker('kill', '--signal', 'TERM', first.getId());
    expect((await inflight).status).toBe(201);
    expect(Number(await docker('wait', first.getId()))).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);

    const second = await bridgeOn(data);
    stops.push(() => second.stop());
    const again = `http://${second.getHost()}:${second.getMappedPort(8080)}`;
    const back = await scim(again, 'GET', `/Groups/${groupId}`);
    expect(back.status).toBe(200);
    expect(((await back.json()) as { displayName: string }).displayName).toBe('Survives restarts');
  }, 240_000);
});
