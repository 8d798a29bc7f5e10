/** Part 1: what the bridge adds over FullStory (the sandbox) per route, on one store. */
import { IDP, FS_TOKEN, report, fmt } from '../lib/env.js';
import { startSandbox, startPassthrough, startBridge, dropSchema, memory, json } from '../lib/procs.js';
import { type Scenario, measure } from '../lib/measure.js';

type Measured = Awaited<ReturnType<typeof measure>>['direct'];

export async function overhead(store: 'sqlite' | 'postgres') {
  const sandbox = await startSandbox(0);
  const bridge = await startBridge({ sandbox, store });
  // The stack alone does not depend on the store: measured once, beside SQLite.
  const passthrough = store === 'sqlite' ? await startPassthrough(sandbox) : undefined;
  const idle = memory(bridge.pid);
  const b = bridge.url;
  const users: string[] = [];
  for (let i = 0; i < 200; i++)
    users.push(
      (
        await json(b, 'POST', '/scim/v2/Users', IDP, {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `seed${i}@bench.example`,
          active: true,
        })
      ).id,
    );
  const group = (await json(b, 'POST', '/scim/v2/Groups', IDP, { displayName: 'Bench group', members: [] })).id;
  const fsGroup = (await json(sandbox.url, 'POST', '/scim/v2/Groups', FS_TOKEN, { displayName: 'Bench group', members: [] })).id;
  const scenarios = routes(store, users, group, fsGroup);
  const rows = [];
  for (const s of scenarios) {
    const { direct, bridge: through, passthrough: floor } = await measure(s, sandbox.url, b, s.passthrough ? passthrough?.url : undefined);
    rows.push({ scenario: s.name, store, write: s.write, direct, bridge: through, ...(floor ? { passthrough: floor } : {}) });
    reportRow(store, s.name, direct, through, floor);
  }
  await passthrough?.close();
  const after = memory(bridge.pid);
  await bridge.close();
  await sandbox.close();
  await dropSchema(bridge.schema);
  return { rows, idleRssMb: idle.rssMb, peakRssMb: after.peakMb };
}

/** The routes measured, each through the bridge and straight to FullStory (the sandbox). */
function routes(store: string, users: string[], group: string, fsGroup: string): Scenario[] {
  const userName = encodeURIComponent('userName eq "seed7@bench.example"');
  const u = (n: number) => users[n % users.length]!;
  return [
    {
      name: 'GET /Users/{id}',
      method: 'GET',
      write: false,
      passthrough: true,
      bridge: (n) => ({ path: `/scim/v2/Users/${u(n)}` }),
      direct: (n) => ({ path: `/scim/v2/Users/${u(n)}` }),
    },
    {
      name: 'GET /Users?filter=userName eq',
      method: 'GET',
      write: false,
      bridge: () => ({ path: `/scim/v2/Users?filter=${userName}` }),
      direct: () => ({ path: `/scim/v2/Users?filter=${userName}` }),
    },
    {
      name: 'POST /Users',
      method: 'POST',
      write: true,
      passthrough: true,
      bridge: (n) => ({
        path: '/scim/v2/Users',
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `b${store}${n}@bench.example`,
          name: { givenName: 'B', familyName: 'N' },
          active: true,
        },
      }),
      direct: (n) => ({
        path: '/scim/v2/Users',
        body: {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `d${store}${n}@bench.example`,
          name: { givenName: 'B', familyName: 'N' },
          active: true,
        },
      }),
    },
    {
      name: 'PATCH /Users (Entra disable)',
      method: 'PATCH',
      write: true,
      // Alternates disable and enable so every request is a real change.
      bridge: (n) => ({
        path: `/scim/v2/Users/${u(n)}`,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Replace', path: 'active', value: Math.floor(n / users.length) % 2 ? 'True' : 'False' }],
        },
      }),
      direct: (n) => ({
        path: `/scim/v2/Users/${u(n)}`,
        body: {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'active', value: Math.floor(n / users.length) % 2 === 1 }],
        },
      }),
    },
    {
      name: 'PATCH /Groups (add one member)',
      method: 'PATCH',
      write: true,
      // Adds, then (next time round) removes, each user; FullStory has no group PATCH, so its baseline is a PUT of a one-member group.
      bridge: (n) => ({
        path: `/scim/v2/Groups/${group}`,
        body: { Operations: [{ op: Math.floor(n / users.length) % 2 ? 'remove' : 'add', path: 'members', value: [{ value: u(n) }] }] },
      }),
      direct: (n) => ({ path: `/scim/v2/Groups/${fsGroup}`, body: { displayName: 'Bench group', members: [{ value: u(n) }] } }),
    },
  ];
}

/** One route's line: the bridge beside FullStory, and beside the pass-through where measured. */
function reportRow(store: string, name: string, direct: Measured, through: Measured, floor: Measured | undefined): void {
  const vsFloor = floor
    ? `\n${''.padEnd(41)}pass-through: p50 ${fmt(floor.p50)} (+${fmt(floor.p50 - direct.p50)})  p99 ${fmt(floor.p99)} (+${fmt(floor.p99 - direct.p99)})  ${Math.round(floor.rps)} rps = ${((100 * floor.rps) / direct.rps).toFixed(0)} % of direct; the bridge ${((100 * through.rps) / floor.rps).toFixed(0)} % of it`
    : '';
  const non2xx = through.non2xx || direct.non2xx || floor?.non2xx ? `  non-2xx ${through.non2xx}/${direct.non2xx}${floor ? `/${floor.non2xx}` : ''}` : '';
  report(
    `${store.padEnd(8)} ${name.padEnd(32)} p50 ${fmt(through.p50)} (+${fmt(through.p50 - direct.p50)})  p99 ${fmt(through.p99)} (+${fmt(through.p99 - direct.p99)})  ${Math.round(through.rps)} rps = ${((100 * through.rps) / direct.rps).toFixed(0)} % of ${Math.round(direct.rps)}${non2xx}${vsFloor}`,
  );
}
