import { parseArgs } from 'node:util';
import pino from 'pino';
import { AuditLog } from '../audit/log.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { openStore } from '../core-steps.js';
import type { Core } from '../core.js';
import { makeLogger } from '../logging.js';
import { AlreadyDecided, rejectHold, releaseHold } from '../provisioning/release.js';
import { isRoleHold, type HoldRow, type Store } from '../store/store.js';
import { formatOption, withCore } from './plan.js';

function printHolds(holds: HoldRow[], format: string): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify(holds)}\n`);
    return;
  }
  process.stdout.write(`${holds.length} changes held by the guard (deprovisionings, and grants waiting for approval)\n`);
  for (const h of holds)
    process.stdout.write(
      `  ${h.id}  ${h.at}  ${h.kind.padEnd(10)} ${h.userName ?? h.userId}${h.role ? ` -> ${h.role}` : ''}  token ${h.tokenName ?? '-'}: ${h.reason}\n`,
    );
}

/** `holds`: what the guard holds, for an operator to read before releasing. */
export async function holds(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: formatOption });
  const config = loadConfig();
  const store = await openStore(config);
  try {
    printHolds(await store.read((r) => r.guard.holds('held')), values.format!);
    return 0;
  } finally {
    await store.close();
  }
}

/** The held changes an operator named (or all of them), and the ids named that are not held, each said on stderr. */
async function choose(store: Store, all: boolean | undefined, ids: string[]): Promise<{ chosen: HoldRow[]; unknown: string[] }> {
  const held = await store.read((r) => r.guard.holds('held'));
  const unknown = ids.filter((id) => !held.some((h) => h.id === id));
  for (const id of unknown) process.stderr.write(`no held change ${id}\n`);
  return { chosen: all ? held : held.filter((h) => ids.includes(h.id)), unknown };
}

/** Waits (up to a minute) for released demotions to reach FullStory; prints each outcome, returns how many FullStory did not take. */
async function awaitDemotions(c: Core, demotions: HoldRow[]): Promise<number> {
  if (demotions.length === 0) return 0;
  const ids = new Set(demotions.map((h) => h.userId));
  const deadline = Date.now() + 60_000;
  let pending = demotions;
  for (;;) {
    const queued = new Map((await c.store.read((r) => r.roleSync.failing(10_000))).filter((i) => ids.has(i.userId)).map((i) => [i.userId, i]));
    const { backlog } = await c.store.read((r) => r.roleSync.stats());
    pending = demotions.filter((h) => queued.has(h.userId) || backlog > 0);
    const stuck = demotions.filter((h) => queued.has(h.userId));
    if (backlog === 0 || Date.now() > deadline || (stuck.length > 0 && stuck.length === pending.length)) {
      for (const h of demotions) {
        const item = queued.get(h.userId);
        if (item)
          process.stderr.write(
            `released ${h.id}, but FullStory did not take the role ${h.role ?? '?'} for ${h.userName ?? h.userId}: ${item.lastError ?? 'not delivered yet'}. It stays in the outbox, where the role-sync worker of a bridge running on this store retries it\n`,
          );
        else if (backlog === 0) process.stdout.write(`released ${h.id}: ${h.kind} ${h.userName ?? h.userId} to ${h.role ?? '?'}, done in FullStory\n`);
        else
          process.stdout.write(
            `released ${h.id}: ${h.kind} ${h.userName ?? h.userId} is still queued after a minute; a bridge running on this store delivers it\n`,
          );
      }
      return demotions.filter((h) => queued.has(h.userId)).length;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `release --all | ID...`: the bridge carries the held changes out itself, within the budget. */
export async function release(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { all: { type: 'boolean', default: false } }, allowPositionals: true });
  if (!values.all && positionals.length === 0) throw new ConfigError('release takes --all or the ids `holds` lists');
  return withCore(async (c) => {
    const { chosen, unknown } = await choose(c.store, values.all, positionals);
    let failed = 0;
    const demotions: HoldRow[] = [];
    for (const h of chosen) {
      try {
        await releaseHold({ store: c.store, users: c.users, kick: () => c.worker.kick(), audit: c.audit }, h, 'cli:release');
        if (isRoleHold(h)) demotions.push(h);
        else process.stdout.write(`released ${h.id}: ${h.kind} ${h.userName ?? h.userId}, done in FullStory\n`);
      } catch (err) {
        failed++;
        process.stderr.write(`could not release ${h.id} (${h.kind} ${h.userName ?? h.userId}): ${(err as Error).message}; it is still held\n`);
      }
    }
    // A demotion travels through the outbox: this process's worker delivers it, and says here whether FullStory took it.
    failed += await awaitDemotions(c, demotions);
    return failed > 0 || unknown.length > 0 ? 1 : 0;
  });
}

/**
 * `reject --all | ID... [--reason TEXT]`: says no to held changes. Only the store is
 * needed (FullStory is not asked): the change is never applied, the hold and the audit
 * log record who (`cli:reject`) and why. Exit 0 when every one named was rejected, 1
 * when one was not held (unknown, or decided meanwhile).
 */
export async function reject(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { all: { type: 'boolean', default: false }, reason: { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.all && positionals.length === 0) throw new ConfigError('reject takes --all or the ids `holds` lists, and --reason TEXT');
  const config = loadConfig();
  const logger = makeLogger({ ...config, log: { ...config.log, level: 'warn' } }, pino.destination(2));
  const store = await openStore(config);
  const audit = new AuditLog(store, config.audit, logger);
  try {
    const { chosen, unknown } = await choose(store, values.all, positionals);
    let failed = unknown.length;
    for (const h of chosen) {
      try {
        await rejectHold({ store, audit }, h, 'cli:reject', values.reason?.trim() || null);
        process.stdout.write(`rejected ${h.id}: ${h.kind} ${h.userName ?? h.userId}${h.role ? ` -> ${h.role}` : ''} will not be applied\n`);
      } catch (err) {
        if (!(err instanceof AlreadyDecided)) throw err;
        failed++;
        process.stderr.write(`${err.message}: another operator decided it first\n`);
      }
    }
    return failed > 0 ? 1 : 0;
  } finally {
    await audit.close();
    await store.close();
  }
}
