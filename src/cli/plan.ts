import { parseArgs } from 'node:util';
import pino from 'pino';
import { createCore, type Core } from '../core.js';
import { makeLogger } from '../logging.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { applyPlan } from '../plan/apply.js';
import { type Plan, type PlanItem } from '../plan/plan.js';
import { recordPlan } from '../plan/scheduled.js';
import { corePlan } from '../core-steps.js';

export const formatOption = { format: { type: 'string', default: 'text' } } as const;

/**
 * The core as plan, apply, release and reconcile need it: with the server's environment,
 * against the live FullStory (apply and release write, even from a shadow setup), no
 * HTTP. Its role-sync worker runs, so roles queued here are delivered here.
 */
export async function withCore<T>(fn: (c: Core) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (!config.fullstory.token) throw new ConfigError('FULLSTORY_SCIM_TOKEN is not set: there is no FullStory to compare with.');
  const live = { ...config, bridge: { mode: 'live' as const }, log: { ...config.log, level: 'warn' as const } };
  // Logs to stderr: stdout is the plan (or its JSON).
  const core = await createCore(live, { logger: makeLogger(live, pino.destination(2)) });
  core.worker.start();
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

/** The plan, its summary kept in the store for the console's drift line. */
export async function planOf(c: Core): Promise<Plan> {
  const p = await corePlan(c);
  await recordPlan(c.store, p);
  return p;
}

const changes = (p: Plan) => p.creates + p.updates + p.deactivations + p.roleChanges;

function describe(i: PlanItem): string {
  const shownRole = i.actual?.role === undefined ? '' : ` (FullStory shows role ${String(i.actual.role)})`;
  const detail = i.action === 'unmanaged' ? shownRole : ` (${JSON.stringify(i.actual ?? {})} -> ${JSON.stringify(i.desired ?? {})})`;
  // A new user's line says the role it will get: what an admin checks before apply.
  const created =
    i.action === 'create' ? ` (role ${String(i.desired?.role ?? 'none: FullStory default')}, ${i.desired?.active === false ? 'inactive' : 'active'})` : '';
  return `  ${i.action.padEnd(10)} ${i.userName}: ${i.why}${i.action === 'create' ? created : detail}`;
}

function printPlan(p: Plan, format: string): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(p)}\n`);
    return;
  }
  process.stdout.write(
    `${p.creates} to create, ${p.updates} to update, ${p.deactivations} to deactivate, ${p.roleChanges} role changes; ${p.unmanaged} unmanaged (left alone)\n`,
  );
  for (const i of p.items) process.stdout.write(`${describe(i)}\n`);
  if (p.nextSignIn) {
    process.stdout.write(`roles through SSO: nothing is sent through SCIM; at their next sign-in, ${p.nextSignIn.length} users should get:\n`);
    for (const u of p.nextSignIn) process.stdout.write(`  sign-in    ${u.userName}: ${u.role}\n`);
  }
}

/** `plan`: 0 when FullStory already is what the IdP wants, 2 when apply would change it, 1 on error. */
export async function plan(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: formatOption });
  try {
    const p = await withCore(planOf);
    printPlan(p, values.format!);
    return changes(p) === 0 ? 0 : 2;
  } catch (err) {
    process.stderr.write(`plan failed: ${(err as Error).message}\n`);
    return 1;
  }
}

/** A bar on a terminal, a line per item otherwise. */
function progressPrinter(): (done: number, total: number, item: PlanItem) => void {
  if (process.stderr.isTTY) {
    return (done, total, item) => {
      const width = 30;
      const filled = Math.round((done / total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${item.action} ${item.userName}`.padEnd(100).slice(0, 100));
      if (done === total) process.stderr.write('\n');
    };
  }
  return (done, total, item) => process.stdout.write(`${done}/${total} ${item.action} ${item.userName}\n`);
}

/** `apply`: carries the plan out; running it again after a kill finishes the job. */
export async function apply(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: formatOption });
  try {
    return await withCore(async (c) => {
      const p = await planOf(c);
      const report = await applyPlan(
        p,
        {
          store: c.store,
          api: c.upstream.api,
          capabilities: c.upstream.capabilities,
          lastAdmin: c.lastAdmin,
          bodyRoles: (role) => c.upstream.roles.bodyRoles(role),
          kick: () => c.worker.kick(),
          record: (write) => c.audit.write({ actor: 'cli:apply', write }),
        },
        progressPrinter(),
      );
      const after = await planOf(c);
      const summary = {
        applied: report.done - report.skipped.length - report.failed.length,
        skipped: report.skipped.map((s) => ({ userName: s.item.userName, action: s.item.action, why: s.why })),
        failed: report.failed.map((f) => ({ userName: f.item.userName, action: f.item.action, why: f.why })),
        rolesPending: report.rolesPending,
        remaining: changes(after),
      };
      if (values.format === 'json') process.stdout.write(`${JSON.stringify(summary)}\n`);
      else {
        process.stdout.write(`applied ${summary.applied} of ${p.items.filter((i) => i.action !== 'unmanaged').length}; ${summary.remaining} changes remain\n`);
        for (const s of summary.skipped) process.stdout.write(`  kept ${s.userName} (${s.action}): ${s.why}\n`);
        for (const f of summary.failed) process.stdout.write(`  FAILED ${f.userName} (${f.action}): ${f.why}\n`);
        if (report.rolesPending > 0)
          process.stdout.write(
            `  ${report.rolesPending} role changes are still in the outbox: the bridge's role-sync worker delivers them while a bridge runs on this store (/readyz and the console show their errors); run apply again to wait for them here\n`,
          );
      }
      // Non-zero when FullStory refused anything or roles are left undelivered: apply again after fixing the cause.
      if (report.failed.length > 0) return 1;
      return report.rolesPending > 0 ? 2 : 0;
      return 0;
    });
  } catch (err) {
    process.stderr.write(`apply failed: ${(err as Error).message}\n`);
    return 1;
  }
}

/**
 * `reconcile [--dry-run]`: `plan` restricted to roles (one drift detector): each managed
 * user whose FullStory role differs from the mapping's; the fixes queued in the role-sync
 * outbox unless --dry-run. Exit 0 when none differ, 1 when some do.
 */
export async function reconcile(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'dry-run': { type: 'boolean', default: false } } });
  return withCore(async (c) => {
    const p = await planOf(c);
    const differ = p.items.filter((i) => i.action === 'roleChange');
    // A role change held for an operator, or rejected by one, is listed but not queued.
    const drift = differ.filter((i) => !i.hold);
    process.stdout.write(`${differ.length} hold a role other than the mapping's\n`);
    for (const d of differ.slice(0, 50))
      process.stdout.write(
        `  ${d.userName}: FullStory has ${String(d.actual?.role)}, mapping wants ${String(d.desired?.role)}${d.hold ? ` (${d.hold.status}, hold ${d.hold.id}: left alone)` : ''}\n`,
      );
    if (differ.length > 50) process.stdout.write(`  ... and ${differ.length - 50} more\n`);
    if (drift.length > 0 && !values['dry-run']) {
      await c.store.transaction((tx) => tx.roleSync.enqueue(new Map(drift.map((d) => [d.userId, String(d.desired?.role)]))));
      process.stdout.write(
        `queued ${drift.length} role changes in the outbox; the role-sync worker of a bridge running on this store delivers them (\`apply\` delivers and waits for them)\n`,
      );
    }
    return differ.length === 0 ? 0 : 1;
  });
}
