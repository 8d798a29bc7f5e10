import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/server.js';
import { dataEnv, dataPlace, databases, G, GROUP_SCHEMA, oktaUser, PATCH_OP, startTestBridge, U, type TestBridge } from '../helpers/bridge.js';
import { runCli } from '../helpers/cli.js';

const dbs = await databases();
const OPS = 'ops-token-for-the-access-review-0123';

let t: TestBridge | undefined;
let sb: RunningSandbox | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await t?.close();
  await sb?.close();
  for (const c of cleanups.splice(0)) await c();
});

describe.each(dbs)('the access review, on %s', (db) => {
  it('lists every FullStory teammate as FullStory holds them, row by row, with who grants the role, who changed them last, and drift', async () => {
    const { where, remove } = await dataPlace(db);
    cleanups.push(remove);
    sb = await startSandbox({ patch: { rateLimit: null } });
    // FullStory's own admin, whom the IdP never managed.
    const owner = sb.state.createUser({ userName: 'owner@corp.test', displayName: 'Owner' });
    owner.role = 'admin';
    t = await startTestBridge({
      db,
      sharedSandbox: sb,
      ...where,
      config: { ops: { token: OPS }, roles: { groups: { 'FS Admins': 'admin', Engineering: 'architect' } } },
    });
    const id = async (n: string, extra = {}) => (await t!.req('POST', U, oktaUser(`${n}@corp.test`, extra))).body.id as string;
    const [ada, bob, cy] = [await id('ada'), await id('bob', { displayName: '=HYPERLINK("http://evil")' }), await id('cy')];
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'Engineering', members: [{ value: ada }, { value: bob }] });
    await t.req('POST', G, { schemas: [GROUP_SCHEMA], displayName: 'FS Admins', members: [{ value: ada }] });
    await t.req('PATCH', `${U}/${cy}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] });
    await t.bridge.core.worker.idle();
    sb.state.users.get(bob)!.role = 'guest'; // changed in FullStory, behind the IdP's back

    const env = { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, ...dataEnv(where) };
    const mapping = join(mkdtempSync(join(tmpdir(), 'fsb-review-')), 'bridge.yaml');
    cleanups.push(async () => rmSync(mapping, { force: true }));
    writeFileSync(mapping, 'roles:\n  groups:\n    "FS Admins": admin\n    Engineering: architect\n');
    const run = await runCli(['access-review', '--format', 'jsonl'], { ...env, CONFIG_FILE: mapping }, 30_000);
    expect(run.code, run.stderr).toBe(0);
    const [header, ...rows] = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const fullstory = sb.roles();
    expect(header).toMatchObject({ type: 'header', teammates: 4, delivery: 'roles-attribute', verification: 'read-back' });
    expect(header!.roles).toEqual({ admin: 2, guest: 1, standard: 1 });
    // Row by row against FullStory's own state.
    expect(rows.map((r) => [r.userName, r.fullstoryRole, r.active]).sort()).toEqual(
      [...sb.state.users.values()].map((u) => [u.userName, fullstory.get(u.userName), u.active]).sort(),
    );
    const by = (n: string) => rows.find((r) => r.userName === `${n}@corp.test`)!;
    expect(by('owner')).toMatchObject({ managed: false, mappedRole: '', grantedBy: '', drift: false, lastChangedBy: '' });
    expect(by('ada')).toMatchObject({
      managed: true,
      mappedRole: 'admin',
      grantedBy: 'FS Admins (admin); Engineering (architect)',
      winningGroup: 'FS Admins',
      drift: false,
    });
    expect(by('ada').lastChangedBy).not.toBe('');
    expect(by('bob')).toMatchObject({ fullstoryRole: 'guest', mappedRole: 'architect', drift: true });
    expect(by('cy')).toMatchObject({ active: false, managed: true, drift: false });

    // The console: the same table as CSV, safe to open in a spreadsheet, and a printable page.
    const csv = await t.bridge.app.inject({ method: 'GET', url: '/console/access-review.csv', headers: { authorization: `Bearer ${OPS}` } });
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="fullstory-access-review-/);
    expect(csv.body).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv.body.split('\r\n').filter((l) => l.startsWith('bob@corp.test'))).toHaveLength(1);
    const page = await t.bridge.app.inject({ method: 'GET', url: '/console/access-review', headers: { authorization: `Bearer ${OPS}` } });
    expect(page.body).toMatch(/<tr class="drift"><td>bob@corp.test<\/td>/);
    expect(page.body).toContain('Reviewed by:');
    expect((await t.bridge.app.inject({ method: 'GET', url: '/console/access-review.csv' })).body).not.toContain('owner@corp.test');
  });

  it('writes HTML to a file, with the header block and the counts', async () => {
    const { where, remove } = await dataPlace(db);
    cleanups.push(remove);
    sb = await startSandbox({ patch: { rateLimit: null } });
    t = await startTestBridge({ db, sharedSandbox: sb, ...where });
    await t.req('POST', U, oktaUser('solo@corp.test'));
    const dir = mkdtempSync(join(tmpdir(), 'fsb-review-out-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'review.html');
    const run = await runCli(
      ['access-review', '--format', 'html', '--out', out],
      { FULLSTORY_SCIM_URL: sb.url, FULLSTORY_SCIM_TOKEN: sb.token, ...dataEnv(where) },
      30_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/<dt>teammates<\/dt><dd>1<\/dd>/);
    expect(html).toMatch(/<dt>mapping fingerprint<\/dt><dd>[0-9a-f]{16}<\/dd>/);
    expect(html).toContain('<td>solo@corp.test</td>');
    expect(html).toContain('@media print');
  });
});
