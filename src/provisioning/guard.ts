import type { Config } from '../config/schema.js';
import { ROLES } from '../config/roles.js';
import { ScimError } from '../scim/errors.js';
import type { HoldRow, Repos, Store } from '../store/store.js';

export interface Deprovisioning {
  userId: string;
  userName: string | null;
  kind: HoldRow['kind'];
  /** The user's role now. */
  currentRole: string | null;
  /** Whether this change would leave FullStory with no active admin (the caller asked FullStory). */
  lastAdmin?: boolean;
  /** For a demotion, the role it sets. */
  role?: string | null;
  tokenName: string | null;
}

/** How long the IdP is told to wait: a held change stays held until someone releases it. */
const RETRY_AFTER_S = 900;

const rank = (role: string | null | undefined) => (role ? ROLES.indexOf(role as (typeof ROLES)[number]) : -1);

/** Whether going from one role to another is a step down (a role the bridge did not set counts as none). */
export function isDemotion(from: string | null, to: string | null): boolean {
  return from !== null && to !== null && rank(to) > rank(from);
}

/**
 * The deprovisioning guard: deactivations, deletions and demotions are counted over a
 * window on every replica together (the store's guard table, decided under its lock).
 * Past the limit, and always for a change that would leave no active admin, the change
 * is held: recorded, not sent to FullStory, until `release`.
 */
export class DeprovisionGuard {
  /** GUARD_MAX_DEPROVISIONS=0: no counting, no holds, no last-admin rule. */
  get enabled(): boolean {
    return this.config.maxDeprovisions > 0;
  }

  constructor(
    private readonly store: Store,
    private readonly config: Config['guard'],
    private readonly onHeld: (hold: HoldRow) => void = () => {},
  ) {}

  /**
   * The IdP retrying a deactivation or deletion an operator rejected: refused with a 409,
   * a final answer (a 503 would be retried for ever, and an app whose calls keep failing
   * is quarantined by Entra). The rejection stands until the IdP changes the user again.
   */
  async refuseRejected(user: { id: string; updatedAt: string }, kind: 'deactivate' | 'delete'): Promise<void> {
    const rejected = await this.store.read((r) => r.guard.heldFor(user.id, kind, 'rejected'));
    if (rejected?.decidedAt && user.updatedAt <= rejected.decidedAt) throw rejectedError(rejected);
  }

  /** Tells of a hold made elsewhere in the caller's transaction (a grant waiting for approval). */
  announce(hold: HoldRow): void {
    this.onHeld(hold);
  }

  /** Lets one deactivation or deletion through, or holds it and throws the 503 the IdP gets. */
  async admit(d: Deprovisioning): Promise<void> {
    const { hold, fresh } = await this.store.transaction(async (tx) => {
      await tx.guard.lock();
      const already = await tx.guard.heldFor(d.userId, d.kind);
      if (already) return { hold: already, fresh: false };
      const held = await this.decide(tx, d);
      return { hold: held, fresh: held !== undefined };
    });
    if (!hold) return;
    if (fresh) this.onHeld(hold);
    throw heldError(hold);
  }

  /**
   * Inside the caller's transaction (a group change): which of these demotions are held.
   * The membership change itself stands; a held user's new role waits for `release`.
   */
  async admitDemotions(tx: Repos, demotions: Deprovisioning[]): Promise<Set<string>> {
    if (demotions.length === 0) return new Set();
    await tx.guard.lock();
    const held = new Set<string>();
    for (const d of demotions) {
      const hold = (await tx.guard.heldFor(d.userId, 'demote')) ?? (await this.decide(tx, d));
      if (hold) {
        held.add(d.userId);
        this.onHeld(hold);
      }
    }
    return held;
  }

  /** Holds (and returns the hold) or counts the change as let through. */
  private async decide(tx: Repos, d: Deprovisioning): Promise<HoldRow | undefined> {
    const reason = await this.reason(tx, d);
    if (reason) return tx.guard.hold({ userId: d.userId, userName: d.userName, kind: d.kind, role: d.role ?? null, tokenName: d.tokenName, reason });
    await tx.guard.record(d.userId, d.kind);
    return undefined;
  }

  private async reason(tx: Repos, d: Deprovisioning): Promise<string | undefined> {
    const { maxDeprovisions: max, windowMinutes: window } = this.config;
    if (max === 0) return undefined;
    if (d.lastAdmin) return 'it would leave FullStory with no active admin';
    const since = new Date(Date.now() - window * 60_000).toISOString();
    if ((await tx.guard.countSince(since)) >= max)
      return `${max} deactivations, deletions and demotions were let through in the last ${window} minutes (GUARD_MAX_DEPROVISIONS)`;
    return undefined;
  }
}

export function heldError(hold: HoldRow): ScimError {
  return new ScimError(
    503,
    `Held by the deprovisioning guard: ${hold.reason}. FullStory was not changed; an operator can release it with \`fullstory-scim-bridge release ${hold.id}\``,
    undefined,
    RETRY_AFTER_S,
  );
}

function rejectedError(hold: HoldRow): ScimError {
  const why = hold.decisionNote ? `: ${hold.decisionNote}` : '';
  const what = hold.kind === 'delete' ? 'deletion' : 'deactivation';
  return new ScimError(
    409,
    `An operator rejected this ${what} (hold ${hold.id}, by ${hold.decidedBy ?? 'an operator'}${why}); FullStory was not changed and will not be for this request. Change the user in the IdP, or ask the operator`,
  );
}
