import type { Config } from '../config/schema.js';
import type { Role } from '../config/roles.js';

/** The configured mapping from IdP groups to FullStory roles, and its precedence. */
export class RolePolicy {
  private readonly byGroup: Map<string, Role>;
  readonly precedence: readonly Role[];
  /** Role of a user in no mapped group; null means "leave FullStory's role as it is". */
  readonly defaultRole: Role | null;
  /** How roles reach FullStory, as configured: auto, or forced one way (the choice itself is the RoleChannel's). */
  readonly delivery: Config['roles']['delivery'];

  /** Roles whose grant waits for an operator (GUARD_APPROVE_ROLES); none under roles through SSO, where the IdP's SAML grants them. */
  readonly approves: ReadonlySet<Role>;

  constructor(cfg: Config['roles'], approveRoles: readonly Role[] = []) {
    this.byGroup = new Map(Object.entries(cfg.groups).map(([name, role]) => [name.toLowerCase(), role]));
    this.precedence = cfg.precedence;
    this.defaultRole = cfg.default === 'unchanged' ? null : cfg.default;
    this.delivery = cfg.delivery;
    this.approves = new Set(cfg.delivery === 'sso' ? [] : approveRoles);
  }

  /** Whether moving a user from `from` to `to` is a grant an operator approves first. */
  needsApproval(from: string | null, to: string | null): boolean {
    return to !== null && to !== from && this.approves.has(to as Role);
  }

  /** What decides a user's role, as one string: equal strings give every user the same role. */
  get fingerprint(): string {
    return JSON.stringify({
      default: this.defaultRole,
      precedence: this.precedence,
      groups: [...this.byGroup].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    });
  }

  /** The role a group's name maps to (case-insensitive) and its rank (0 highest). */
  forGroup(displayName: string): { role: Role; rank: number } | null {
    const role = this.byGroup.get(displayName.toLowerCase());
    return role ? { role, rank: this.precedence.indexOf(role) } : null;
  }

  /** A user's effective role from the best rank among their mapped groups. */
  fromRank(rank: number | undefined): Role | null {
    return rank === undefined ? this.defaultRole : (this.precedence[rank] ?? this.defaultRole);
  }
}
