import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AuditEntry, Store } from '../store/store.js';
import { AuditWriter } from './writer.js';

/** What the HTTP layer knows of one change an IdP asked for. */
export interface RequestFacts {
  tokenName: string;
  userAgent: string | undefined;
  method: string;
  /** The route's pattern below the SCIM base, e.g. "/Users/:id". */
  route: string;
  resourceId: string | null;
  /** Who or what was changed, in words (a userName, a group name). */
  subject: string | undefined;
  status: number;
  upstreamStatus: number | undefined;
  detail: string | undefined;
}

const PRUNE_EVERY_MS = 6 * 3_600_000;

/**
 * The audit log: one row per change an IdP asked for and per role-delivery streak,
 * shaped and redacted here (never a token; with `audit.redactPii`, no name or detail),
 * written in batches, and pruned past `audit.retentionDays`.
 */
export class AuditLog {
  private readonly writer: AuditWriter;
  private pruneTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly config: Config['audit'],
    private readonly logger: Logger,
  ) {
    this.writer = new AuditWriter((rows) => store.transaction((tx) => tx.audit.recordMany(rows)), (err) => logger.error({ err }, 'audit write failed'));
  }

  request(f: RequestFacts): void {
    const redact = this.config.redactPii;
    this.writer.add({
      token_name: f.tokenName,
      user_agent: f.userAgent?.slice(0, 200) ?? null,
      method: f.method,
      operation: `${f.method} ${f.route}`,
      resource_type: f.route.startsWith('/Groups') ? 'Group' : f.route.startsWith('/Users') ? 'User' : 'Other',
      resource_id: f.resourceId,
      subject: f.subject === undefined ? null : redact ? `sha256:${createHash('sha256').update(f.subject).digest('hex').slice(0, 16)}` : f.subject.slice(0, 256),
      outcome: f.status < 400 ? 'success' : 'failure',
      status: f.status,
      upstream_status: f.upstreamStatus ?? null,
      detail: redact ? null : (f.detail?.slice(0, 500) ?? null),
    });
  }

  /** A row made elsewhere (the role-sync worker's). */
  add(entry: AuditEntry): void {
    this.writer.add(entry);
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
