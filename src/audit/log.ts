import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { FullStoryWrite } from '../fullstory/writes.js';
import type { AuditEntry, Store } from '../store/store.js';
import type { ConsoleEvent, HoldEvent, RefusalEvent, RequestEvent, WriteEvent } from './events.js';
import { AuditWriter } from './writer.js';

export type { RequestEvent } from './events.js';

const PRUNE_EVERY_MS = 6 * 3_600_000;

/** How each decision on a held change reads in the audit log: a rejection is a refusal the IdP is told of (409). */
const HOLD_OUTCOME: Record<HoldEvent['action'], { outcome: string; status: number }> = {
  held: { outcome: 'held', status: 503 },
  released: { outcome: 'success', status: 200 },
  'release-failed': { outcome: 'failure', status: 502 },
  rejected: { outcome: 'rejected', status: 409 },
};

const resourceTypeOf = (route: string) => (route.startsWith('/Groups') ? 'Group' : route.startsWith('/Users') ? 'User' : 'Other');

/** A write's own row: its operation, FullStory's status (none in shadow mode) and what changed. */
function writeRow(actor: string, w: FullStoryWrite, shadow: boolean, userAgent: string | null = null): AuditEntry {
  const group = w.operation.startsWith('groups.');
  // A role the bridge settled without a call (through SSO, or left to FullStory's own role): on the record, never as a FullStory write.
  const sent = !w.operation.startsWith('roles.');
  return {
    token_name: actor,
    user_agent: userAgent,
    method: sent ? 'FULLSTORY' : 'BRIDGE',
    operation: sent ? `fullstory.${w.operation}` : w.operation,
    resource_type: group ? 'Group' : 'User',
    resource_id: group ? null : (w.userId ?? null),
    subject: group ? (w.group ?? null) : (w.userName ?? null),
    outcome: shadow ? 'shadow' : w.ok ? 'success' : 'failure',
    status: w.ok ? 200 : 502,
    upstream_status: shadow ? null : w.upstreamStatus,
    change: w.change ?? null,
    detail: w.detail ?? null,
  };
}

/**
 * The audit log: one row per FullStory write, whichever path sent it, and one per change
 * an IdP asked for that wrote nothing (refused, held, a group change, shadow), built from
 * typed events here and only here. Rows naming a user by id get its userName from the
 * index; with `audit.redactPii` the subject is hashed and no detail kept, for every kind
 * of row alike. Written in batches, pruned past `audit.retentionDays`.
 */
export class AuditLog {
  private readonly writer: AuditWriter;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly config: Config['audit'],
    private readonly logger: Logger,
  ) {
    this.writer = new AuditWriter(
      async (rows) => {
        const finished = this.redact(await this.named(rows));
        await store.transaction((tx) => tx.audit.recordMany(finished));
      },
      (err) => logger.error({ err }, 'audit write failed'),
    );
  }

  /** A change an IdP asked for: its first FullStory write on its row, any further ones on rows of their own. */
  request(e: RequestEvent): void {
    // A held change is the guard's row (written once, when first held); the IdP's retries of it are the same change.
    if (e.held && e.writes.length === 0) return;
    const [first, ...more] = e.writes;
    const outcome = e.status >= 400 ? 'failure' : e.shadow ? 'shadow' : 'success';
    this.writer.add({
      token_name: e.actor,
      user_agent: e.userAgent?.slice(0, 200) ?? null,
      method: e.method,
      operation: `${e.method} ${e.route}`,
      resource_type: resourceTypeOf(e.route),
      resource_id: e.resourceId,
      subject: e.subject ?? null,
      outcome,
      status: e.status,
      upstream_status: e.shadow || !first ? null : first.upstreamStatus,
      change: first?.change ?? null,
      detail: e.detail ?? null,
    });
    for (const w of more) this.writer.add(writeRow(e.actor, w, e.shadow, e.userAgent?.slice(0, 200) ?? null));
  }

  /** A FullStory write outside an IdP request (role-sync, apply, release). */
  write(e: WriteEvent): void {
    this.writer.add(writeRow(e.actor, e.write, e.shadow === true));
  }

  hold(e: HoldEvent): void {
    const h = e.hold;
    this.writer.add({
      token_name: e.actor ?? h.tokenName,
      user_agent: null,
      method: 'GUARD',
      operation: e.action === 'held' ? `guard.hold.${h.kind}` : e.action === 'rejected' ? 'guard.reject' : 'guard.release',
      resource_type: 'User',
      resource_id: h.userId,
      subject: h.userName,
      outcome: HOLD_OUTCOME[e.action].outcome,
      status: HOLD_OUTCOME[e.action].status,
      upstream_status: e.upstreamStatus ?? null,
      change: h.kind === 'demote' || h.kind === 'approval' ? `role → ${h.role ?? '?'}` : h.kind === 'deactivate' ? 'active true → false' : 'deleted',
      detail: e.detail ?? (e.action === 'held' ? `held ${h.id}: ${h.reason}` : `${e.action} ${h.id}`),
    });
  }

  refused(e: RefusalEvent): void {
    this.writer.add({
      token_name: null,
      user_agent: e.userAgent?.slice(0, 200) ?? null,
      method: e.method,
      operation: e.operation,
      resource_type: e.operation === 'console.login' ? 'Console' : 'Edge',
      resource_id: null,
      subject: e.address,
      outcome: 'refused',
      status: e.status,
      upstream_status: null,
      change: null,
      detail: e.detail,
    });
  }

  console(e: ConsoleEvent): void {
    this.writer.add({
      token_name: e.actor,
      user_agent: null,
      method: 'POST',
      operation: e.operation,
      resource_type: 'Console',
      resource_id: null,
      subject: null,
      outcome: 'success',
      status: 303,
      upstream_status: null,
      change: null,
      detail: e.detail,
    });
  }

  /** Rows that name a user only by id get the userName the index holds. */
  private async named(rows: readonly AuditEntry[]): Promise<AuditEntry[]> {
    const ids = [...new Set(rows.filter((r) => r.subject === null && r.resource_type === 'User' && r.resource_id).map((r) => r.resource_id!))];
    if (ids.length === 0) return [...rows];
    const names = new Map((await this.store.read((r) => r.users.getMany(ids))).map((u) => [u.id, u.userName]));
    return rows.map((r) => (r.subject === null && r.resource_id && names.has(r.resource_id) ? { ...r, subject: names.get(r.resource_id)! } : r));
  }

  /** The one place rows are redacted: subjects hashed and details dropped with `audit.redactPii`; lengths bounded always. */
  private redact(rows: AuditEntry[]): AuditEntry[] {
    const pii = this.config.redactPii;
    return rows.map((r) => ({
      ...r,
      subject: r.subject === null ? null : pii ? `sha256:${createHash('sha256').update(r.subject).digest('hex').slice(0, 16)}` : r.subject.slice(0, 256),
      detail: pii ? null : (r.detail?.slice(0, 500) ?? null),
    }));
  }

  /** Resolves when every row added so far is in the store. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Prunes past retention now and every six hours. */
  async startRetention(): Promise<void> {
    await this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS).unref();
  }

  private prune(): Promise<void> {
    const before = new Date(Date.now() - this.config.retentionDays * 86_400_000).toISOString();
    return this.store
      .transaction((tx) => tx.audit.prune(before))
      .then((n) => void (n > 0 && this.logger.info({ rows: n }, 'audit rows past retention pruned')))
      .catch((err: unknown) => this.logger.warn({ err }, 'audit pruning failed'));
  }

  async close(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.writer.flush();
  }
}
