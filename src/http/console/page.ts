import type { AuditTable, HoldRow, RoleSyncItem, RoleSyncStats } from '../../store/store.js';
import { heldChange } from '../../provisioning/release.js';

/** The outcomes an audit row can have, as the filter offers them. */
export const AUDIT_OUTCOMES = ['success', 'failure', 'held', 'rejected', 'refused', 'shadow'];

/** Everything is escaped on the way in: the page shows names an IdP sent. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export type Level = 'ok' | 'warn' | 'bad';

export interface ConsoleView {
  /** The worst state of any section, in words: the page's first line. */
  overall: { level: Level; words: string };
  operator: string;
  csrf: string;
  version: string;
  uptimeSeconds: number;
  mode: 'live' | 'shadow';
  ready: boolean;
  readyWhy: string;
  checkedAt: string | null;
  capabilities: [string, string][];
  roleDelivery: { mode: string; why: string; verification: string | null; confirm: string | null; degraded: string | null; planMismatch: string | null };
  /** The role mapping in force: IdP group -> role (highest precedence first), and the default. */
  mapping: { groups: [string, string][]; precedence: readonly string[]; default: string };
  /** Roles through SSO: [userName, role] due at each user's next sign-in (a first page), or null in other modes. */
  nextSignIn: [string, string][] | null;
  budget: { ratePerSecond: number; burst: number; callsLastMinute: number; waiting: number; circuit: string };
  roleSync: RoleSyncStats;
  failing: (RoleSyncItem & { userName: string })[];
  holds: HoldRow[];
  /** Standing rejections, newest first. */
  rejected: HoldRow[];
  /** Notices the webhook has not taken (NOTIFY_WEBHOOK_URL). */
  notices: { count: number; oldestAt: string | null };
  /** Deprovisionings let through in the guard's current window, of how many. */
  guardWindow: { used: number; max: number; minutes: number };
  /** Each IdP token, and when this replica last saw it used. */
  tokens: { name: string; lastUsedAt: string | null }[];
  planPending: number;
  /** The counts of the last `plan` run, if one ran. */
  lastPlan: { at: string; creates: number; updates: number; deactivations: number; roleChanges: number; unmanaged: number } | null;
  audit: AuditTable[];
  auditTotal: number;
  query: { user: string; outcome: string; hours: number; page: number };
  refreshSeconds: number;
  notice?: string;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;max-width:72rem}
h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:1.6rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
.ok{color:#176b2c}.bad{color:#a4161a;font-weight:600}.warn{color:#8a5a00}#overall{font-size:1.1rem;padding:.4rem .6rem;border-radius:.3rem;background:#f6f6f6}.pill{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#eee}
form.inline{display:inline}code{background:#f4f4f4;padding:0 .2rem}`;

function layout(title: string, body: string, refreshSeconds?: number): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
${refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}<meta name="viewport" content="width=device-width"><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function loginPage(error?: string): string {
  return layout(
    'fullstory-scim-bridge: console login',
    `<h1>fullstory-scim-bridge console</h1>${error ? `<p class="bad" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/console/login"><label>Ops token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form><p>An ops token (OPS_TOKENS or OPS_TOKEN) opens the console; IdP tokens do not.</p>`,
  );
}

const rows = <T>(items: T[], empty: string, cols: number, row: (i: T) => string) =>
  items.length === 0 ? `<tr><td colspan="${cols}">${esc(empty)}</td></tr>` : items.map(row).join('');

function section(title: string, html: string): string {
  return `<h2>${esc(title)}</h2>${html}`;
}

const duration = (seconds: number) =>
  seconds < 3600
    ? `${Math.floor(seconds / 60)} min`
    : seconds < 172_800
      ? `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`
      : `${Math.floor(seconds / 86_400)} days`;

function auditSection(v: ConsoleView): string {
  const q = v.query;
  const link = (page: number) => `/console?${new URLSearchParams({ user: q.user, outcome: q.outcome, hours: String(q.hours), page: String(page) }).toString()}`;
  const pages = Math.max(1, Math.ceil(v.auditTotal / 50));
  const outcomes = ['', ...AUDIT_OUTCOMES].map((o) => `<option value="${o}"${o === q.outcome ? ' selected' : ''}>${o || 'any outcome'}</option>`).join('');
  return section(
    'Audit events',
    `<form method="get" action="/console"><label>User <input name="user" value="${esc(q.user)}" placeholder="userName or id"></label>
<label>Outcome <select name="outcome">${outcomes}</select></label> <label>Last <input name="hours" type="number" min="1" value="${q.hours}" style="width:5rem"> hours</label> <button>Filter</button></form>
<table id="audit"><tr><th>when</th><th>actor</th><th>operation</th><th>user</th><th>change</th><th>outcome</th><th>status</th><th>FullStory</th><th>detail</th></tr>${rows(
      v.audit,
      'no events',
      9,
      (a) =>
        `<tr><td>${esc(a.at)}</td><td>${esc(a.token_name ?? '')}</td><td>${esc(a.operation)}</td><td>${esc(a.subject ?? a.resource_id ?? '')}</td><td>${esc(a.change ?? '')}</td><td>${esc(a.outcome)}</td><td>${a.status}</td><td>${a.upstream_status ?? '-'}</td><td>${esc(a.detail ?? '')}</td></tr>`,
    )}</table>
<p id="audit-pages">${v.auditTotal} events; page ${q.page} of ${pages}${q.page > 1 ? ` <a href="${esc(link(q.page - 1))}">newer</a>` : ''}${q.page < pages ? ` <a href="${esc(link(q.page + 1))}">older</a>` : ''}</p>`,
  );
}

function guardSection(v: ConsoleView): string {
  const g = v.guardWindow;
  const usage =
    g.max === 0
      ? 'The guard is off (GUARD_MAX_DEPROVISIONS=0).'
      : `${g.used} of ${g.max} deactivations, deletions and demotions used in the last ${g.minutes} minutes.`;
  return section(
    'Deprovisioning guard',
    `<p id="guard-window" class="${g.max > 0 && g.used >= g.max ? 'warn' : ''}">${esc(usage)}</p><table id="holds"><tr><th>held</th><th>user</th><th>change</th><th>token</th><th>why</th><th></th></tr>${rows(
      v.holds,
      'nothing held',
      6,
      (h) =>
        `<tr><td>${esc(h.at)}</td><td>${esc(h.userName ?? h.userId)}</td><td>${esc(h.kind)}${h.role ? ` to ${esc(h.role)}` : ''}</td><td>${esc(h.tokenName ?? '-')}</td><td>${esc(h.reason)}</td>
<td><a href="/console/holds/${esc(encodeURIComponent(h.id))}/release">Release…</a> <a href="/console/holds/${esc(encodeURIComponent(h.id))}/reject">Reject…</a></td></tr>`,
    )}</table>${rejectedTable(v)}${noticesLine(v)}`,
  );
}

/** Rejections that stand: never applied, the IdP's retries answered without applying them. */
function rejectedTable(v: ConsoleView): string {
  if (v.rejected.length === 0) return '';
  return `<h3>Rejected (standing)</h3><table id="rejected"><tr><th>rejected</th><th>user</th><th>change</th><th>by</th><th>why</th></tr>${v.rejected
    .map(
      (h) =>
        `<tr><td>${esc(h.decidedAt ?? '')}</td><td>${esc(h.userName ?? h.userId)}</td><td>${esc(h.kind)}${h.role ? ` to ${esc(h.role)}` : ''}</td><td>${esc(h.decidedBy ?? '')}</td><td>${esc(h.decisionNote ?? '')}</td></tr>`,
    )
    .join('')}</table>`;
}

function noticesLine(v: ConsoleView): string {
  if (v.notices.count === 0) return '';
  return `<p id="notices" class="warn">${v.notices.count} ${v.notices.count === 1 ? 'notice waits' : 'notices wait'} for the webhook (oldest ${esc(v.notices.oldestAt ?? '?')}): it is down or refusing; the log says how.</p>`;
}

function mappingSection(v: ConsoleView): string {
  const m = v.mapping;
  return section(
    'Role mapping and IdP tokens',
    `<table id="mapping"><tr><th>IdP group</th><th>FullStory role</th></tr>${rows(m.groups, 'no group is mapped', 2, ([g, r]) => `<tr><td>${esc(g)}</td><td>${esc(r)}</td></tr>`)}
<tr><th>in no mapped group</th><td>${esc(m.default)}</td></tr><tr><th>precedence</th><td>${esc(m.precedence.join(' > '))}</td></tr></table>${
      v.nextSignIn
        ? `<table id="next-sign-in"><tr><th>user (roles through SSO)</th><th>role at their next sign-in</th></tr>${rows(v.nextSignIn, 'no managed user yet', 2, ([u, r]) => `<tr><td>${esc(u)}</td><td>${esc(r)}</td></tr>`)}</table><p><small>The first ${v.nextSignIn.length} users; <code>fullstory-scim-bridge plan --format json</code> lists all (<code>nextSignIn</code>).</small></p>`
        : ''
    }
<table id="tokens"><tr><th>IdP token</th><th>last used (this replica)</th></tr>${rows(v.tokens, 'no IdP token', 2, (t) => `<tr><td>${esc(t.name)}</td><td class="${t.lastUsedAt ? '' : 'warn'}">${esc(t.lastUsedAt ?? 'not since this replica started')}</td></tr>`)}</table>`,
  );
}

export function consolePage(v: ConsoleView): string {
  const status = v.ready
    ? v.roleDelivery.degraded
      ? '<span class="warn">degraded</span>'
      : '<span class="ok">ready</span>'
    : '<span class="bad">not ready</span>';
  const oldest = v.roleSync.oldestPendingAt ? `${Math.round((Date.now() - Date.parse(v.roleSync.oldestPendingAt)) / 1000)} s ago` : 'none';
  const body = [
    `<h1>fullstory-scim-bridge console <span class="pill">${esc(v.mode)}</span></h1>`,
    `<p id="overall" class="${v.overall.level}" role="status"><b>${esc(v.overall.words)}</b></p>`,
    `<form class="inline" method="post" action="/console/logout"><input type="hidden" name="csrf" value="${esc(v.csrf)}">signed in as <b>${esc(v.operator)}</b> <button>Sign out</button></form> <small id="version">version ${esc(v.version)}, up ${esc(duration(v.uptimeSeconds))}</small>`,
    v.notice ? `<p class="warn" role="status">${esc(v.notice)}</p>` : '',
    v.mode === 'shadow'
      ? '<p class="warn">SHADOW MODE: the IdP is answered and its changes recorded; nothing is written to FullStory. Run <code>fullstory-scim-bridge plan</code>.</p>'
      : '',
    section('Readiness', `<p id="readiness">${status}: ${esc(v.readyWhy)} <small>(last preflight ${esc(v.checkedAt ?? 'not yet')})</small></p>`),
    section(
      'What FullStory was found to support',
      `<table id="capabilities">${v.capabilities.map(([k, val]) => `<tr><th>${esc(k)}</th><td>${esc(val)}</td></tr>`).join('')}
<tr><th>role delivery</th><td>${esc(v.roleDelivery.mode)}: ${esc(v.roleDelivery.why)}${v.roleDelivery.degraded ? ` <span class="bad">${esc(v.roleDelivery.degraded)}</span>` : ''}</td></tr>
<tr><th>verification</th><td>${esc(v.roleDelivery.verification ?? 'undecided')}${v.roleDelivery.confirm ? `: ${esc(v.roleDelivery.confirm)}` : ''}</td></tr></table>`,
    ),
    mappingSection(v),
    section(
      'Rate budget',
      `<p id="budget">${v.budget.callsLastMinute} FullStory calls in the last minute, of ${Math.round(v.budget.ratePerSecond * 60)} the budget allows (${v.budget.ratePerSecond}/s, burst ${v.budget.burst}); ${v.budget.waiting} waiting; circuit ${esc(v.budget.circuit)}</p>`,
    ),
    section(
      'Role sync',
      `<p id="role-sync">backlog ${v.roleSync.backlog}, failing ${v.roleSync.failing}, oldest pending ${esc(oldest)}</p>
<table id="failing"><tr><th>user</th><th>wanted role</th><th>attempts</th><th>error</th></tr>${rows(v.failing, 'no failing change', 4, (f) => `<tr><td>${esc(f.userName)}</td><td>${esc(f.desiredRole)}</td><td>${f.attempts}</td><td class="bad">${esc(f.lastError)}</td></tr>`)}</table>`,
    ),
    guardSection(v),
    section(
      'Drift and plan',
      `<p id="plan">${v.planPending > 0 ? `<span class="warn">${v.planPending} users recorded in shadow mode are not in FullStory yet.</span> ` : ''}${
        v.lastPlan
          ? `Last <code>plan</code> (${esc(v.lastPlan.at)}): ${v.lastPlan.creates} to create, ${v.lastPlan.updates} to update, ${v.lastPlan.deactivations} to deactivate, ${v.lastPlan.roleChanges} role changes, ${v.lastPlan.unmanaged} unmanaged. `
          : 'No plan has run yet. '
      }Run <code>fullstory-scim-bridge plan</code> for what FullStory holds against what the IdP wants; <code>apply</code> repairs it.</p>
<p id="access-review">Access review (every teammate, their role in FullStory and who grants it): <a href="/console/access-review">open a printable page</a> or <a href="/console/access-review.csv">download CSV</a>.</p>`,
    ),
    auditSection(v),
    `<p><small>Refreshes every ${v.refreshSeconds} s.</small></p>`,
  ].join('\n');
  return layout('fullstory-scim-bridge console', body, v.refreshSeconds);
}

/**
 * Release and reject ask first, without a script: a page that says what will happen,
 * with the one button that does it (and, to reject, a reason for the record).
 */
export function confirmDecisionPage(h: HoldRow, csrf: string, decision: 'release' | 'reject'): string {
  const what = heldChange(h);
  const held = `It was held ${esc(h.at)} (token ${esc(h.tokenName ?? '-')}): ${esc(h.reason)}`;
  const action = `/console/holds/${esc(encodeURIComponent(h.id))}/${decision}`;
  const csrfField = `<input type="hidden" name="csrf" value="${esc(csrf)}">`;
  if (decision === 'release')
    return layout(
      'fullstory-scim-bridge: release a held change',
      `<h1>Release a held change?</h1><p id="confirm">This will <b>${esc(what)}</b> in FullStory now. ${held}</p>
<form method="post" action="${action}">${csrfField}<button>Yes, release it</button> <a href="/console">No, back to the console</a></form>`,
    );
  return layout(
    'fullstory-scim-bridge: reject a held change',
    `<h1>Reject a held change?</h1><p id="confirm">This will <b>never ${esc(what)}</b>: FullStory keeps the user as they are, and the IdP's retries of it change nothing. ${held}</p>
<form method="post" action="${action}">${csrfField}<label>Why (kept in the audit log) <input name="reason" maxlength="500" size="60"></label><br><button>Yes, reject it</button> <a href="/console">No, back to the console</a></form>`,
  );
}
