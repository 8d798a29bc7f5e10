import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/schema.js';
import type { Capabilities } from '../../fullstory/preflight.js';
import { LAST_PLAN_KEY } from '../../plan/plan.js';
import { STARTED_AT, VERSION } from '../../lib/version.js';
import type { AuditTable } from '../../store/store.js';
import { AUDIT_OUTCOMES, type ConsoleView, type Level } from './page.js';
import { deliveryFacts } from '../../fullstory/roles/modes.js';
import { describeCapabilities } from '../../fullstory/capabilities.js';
import { planMessage } from '../../fullstory/plan-word.js';
import { isActive } from '../../provisioning/user-mapping.js';
import type { AppDeps } from '../types.js';

const REFRESH_SECONDS = 15;
/** Audit rows a page shows. */
export const AUDIT_PAGE = 50;

/** Users listed as due a role at their next sign-in (roles through SSO). */
const SIGN_IN_PAGE = 100;

/** What the audit table is narrowed to: a user, an outcome, the last N hours, a page. */
export interface AuditQuery {
  user: string;
  outcome: string;
  hours: number;
  page: number;
}

export function auditQuery(q: Record<string, unknown>): AuditQuery {
  const num = (v: unknown, fallback: number, max: number) => {
    const n = Math.trunc(Number(v));
    return Number.isFinite(n) && n >= 1 ? Math.min(n, max) : fallback;
  };
  const outcome = String(q.outcome ?? '');
  return {
    user: String(q.user ?? '').slice(0, 200),
    outcome: AUDIT_OUTCOMES.includes(outcome) ? outcome : '',
    hours: num(q.hours, 24 * 7, 24 * 365),
    page: num(q.page, 1, 10_000),
  };
}

/** The worst state of any section, first: what an on-call person reads before anything else. */
function overall(v: Omit<ConsoleView, 'overall'>): { level: Level; words: string } {
  const problems: [Level, string][] = [];
  if (!v.ready) problems.push(['bad', `not ready: ${v.readyWhy}`]);
  if (v.roleDelivery.planMismatch) problems.push(['bad', v.roleDelivery.planMismatch]);
  if (v.roleDelivery.degraded) problems.push(['bad', `role delivery degraded: ${v.roleDelivery.degraded}`]);
  if (v.budget.circuit !== 'closed') problems.push(['bad', `calls to FullStory paused (circuit ${v.budget.circuit})`]);
  if (v.holds.length > 0) problems.push(['warn', `${v.holds.length} ${v.holds.length === 1 ? 'change' : 'changes'} held by the guard`]);
  if (v.notices.count > 0) problems.push(['warn', `${v.notices.count} ${v.notices.count === 1 ? 'notice' : 'notices'} not taken by the webhook yet`]);
  if (v.roleSync.failing > 0) problems.push(['warn', `${v.roleSync.failing} role ${v.roleSync.failing === 1 ? 'change' : 'changes'} failing`]);
  if (v.planPending > 0) problems.push(['warn', `${v.planPending} users recorded in shadow mode are not in FullStory yet`]);
  if (v.mode === 'shadow') problems.push(['warn', 'shadow mode: nothing is written to FullStory']);
  if (problems.length === 0) return { level: 'ok', words: 'ready: FullStory is usable, roles are delivered, nothing is held' };
  const worst = problems.find((p) => p[0] === 'bad') ?? problems[0]!;
  const others = problems.length - 1;
  return { level: worst[0], words: `${worst[1]}${others > 0 ? ` (and ${others} more below)` : ''}` };
}

/** What FullStory was found to support, in words. */
function capabilityRows(caps: Capabilities | undefined): [string, string][] {
  return caps ? describeCapabilities(caps).map(({ label, message }) => [label, message]) : [['FullStory', 'not checked yet']];
}

/** The role mapping in force: groups by their role's precedence, then by name. */
function mappingOf(roles: Config['roles']): ConsoleView['mapping'] {
  const rank = (role: string) => roles.precedence.indexOf(role as (typeof roles.precedence)[number]);
  return {
    groups: Object.entries(roles.groups).sort((a, b) => rank(a[1]) - rank(b[1]) || a[0].localeCompare(b[0])),
    precedence: roles.precedence,
    default: roles.default,
  };
}

/** Roles through SSO: the role each managed user should get at their next sign-in (the first page; `plan` lists all). */
async function nextSignIn(store: AppDeps['store'], delivery: string | undefined): Promise<ConsoleView['nextSignIn']> {
  if (delivery !== 'sso') return null;
  const page = await store.read((r) => r.users.page(undefined, SIGN_IN_PAGE));
  return page.filter((u) => u.role !== null && !u.deleted && isActive(u.resource)).map((u) => [u.userName, u.role!] as [string, string]);
}

/** Everything the console page shows, read once per view. */
export async function gather(app: FastifyInstance, operator: string, csrf: string, q: AuditQuery, notice?: string): Promise<ConsoleView> {
  const { deps } = app;
  const { readiness, store, config } = deps;
  const caps = readiness.capabilities;
  const roles = deps.roleDelivery();
  const extra = readiness.extra ? await readiness.extra() : {};
  const since = new Date(Date.now() - q.hours * 3_600_000).toISOString();
  const windowFrom = new Date(Date.now() - config.guard.windowMinutes * 60_000).toISOString();
  const [stats, failing, holds, rejected, notices, audit, lastPlan, used] = await store.read(
    async (r) =>
      [
        await r.roleSync.stats(),
        await r.roleSync.failing(50),
        await r.guard.holds('held'),
        await r.guard.holds('rejected'),
        await r.notices.pending(),
        await r.audit.since(since, 20_000),
        await r.kv.get(LAST_PLAN_KEY),
        await r.guard.countSince(windowFrom),
      ] as const,
  );
  const names = new Map((await store.read((r) => r.users.getMany(failing.map((f) => f.userId)))).map((u) => [u.id, u.userName]));
  const wanted = q.user.trim().toLowerCase();
  const matches = audit.filter(
    (a) =>
      (!wanted || (a.subject ?? '').toLowerCase().includes(wanted) || (a.resource_id ?? '').toLowerCase() === wanted) &&
      (!q.outcome || a.outcome === q.outcome),
  );
  const newestFirst: AuditTable[] = matches.reverse();
  const view: Omit<ConsoleView, 'overall'> = {
    operator,
    csrf,
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - STARTED_AT) / 1000),
    mode: deps.mode,
    ready: readiness.ok,
    readyWhy: readiness.ok
      ? 'the store answers and the last FullStory preflight passed'
      : `${readiness.reason ?? 'not checked yet'}${readiness.since ? ` (since ${readiness.since})` : ''}`,
    checkedAt: readiness.checkedAt ?? null,
    capabilities: capabilityRows(caps),
    roleDelivery: {
      ...deliveryFacts(roles.delivery),
      planMismatch: roles.planWord ? planMessage(roles.planWord) : null,
      degraded: roles.health.degraded ? (roles.health.reason ?? 'degraded') : null,
    },
    mapping: mappingOf(config.roles),
    nextSignIn: await nextSignIn(store, roles.delivery.delivery),
    budget: {
      ratePerSecond: config.fullstory.ratePerSecond,
      burst: config.fullstory.rateBurst,
      callsLastMinute: deps.metrics.upstreamCallsLastMinute(),
      waiting: Number(extra.budgetWaiting ?? 0),
      circuit: String(extra.circuit ?? 'closed'),
    },
    roleSync: stats,
    failing: failing.map((f) => ({ ...f, userName: names.get(f.userId) ?? f.userId })),
    holds: [...holds],
    // The newest first: the rejections that still stand (the IdP's retries of them change nothing).
    rejected: [...rejected].reverse().slice(0, 20),
    notices,
    guardWindow: { used, max: config.guard.maxDeprovisions, minutes: config.guard.windowMinutes },
    tokens: deps.tokens.map((t) => ({
      name: t.name,
      lastUsedAt: deps.tokenLastUsed.has(t.name) ? new Date(deps.tokenLastUsed.get(t.name)!).toISOString() : null,
    })),
    planPending: deps.pendingPlan(),
    lastPlan: lastPlan ? (JSON.parse(lastPlan) as ConsoleView['lastPlan']) : null,
    audit: newestFirst.slice((q.page - 1) * AUDIT_PAGE, q.page * AUDIT_PAGE),
    auditTotal: newestFirst.length,
    query: q,
    refreshSeconds: REFRESH_SECONDS,
    ...(notice ? { notice } : {}),
  };
  return { ...view, overall: overall(view) };
}
