import { PLAN_ROLES, ROLES, type Plan, type Role } from '../config/roles.js';
import { UpstreamError } from './errors.js';

/** Where FullStory's word on its plan is kept, so that `check` and every replica read it. */
export const PLAN_WORD_KEY = 'fullstory.plan-word';

/** What FullStory said about its plan, under which configured plan it said it. */
export interface PlanWordFacts {
  configured: Plan;
  /** The plan FullStory named; null where it named only the role it refused. */
  reported: Plan | null;
  role: Role;
  detail: string;
  at: string;
}

/** FullStory's plan names, as its messages may spell them, to the plans the bridge knows (Advanced and Free offer Business's roles). */
const PLAN_NAMES: Record<string, Plan> = {
  enterprise: 'enterprise',
  business: 'business',
  advanced: 'business',
  free: 'business',
  'data-direct': 'data-direct',
  'data direct': 'data-direct',
};

/**
 * A FullStory refusal (400) that says a role is not available on a plan: the plan it
 * names and the role, or undefined for any other error. FullStory's wording is not
 * published; the sandbox's ("Role "explorer" is not available on the business plan") and
 * its v2 style are read, and a refusal naming a role without a plan still counts.
 */
export function planRefusal(err: unknown): { reported: Plan | null; role: Role } | undefined {
  if (!(err instanceof UpstreamError) || err.status !== 400) return undefined;
  const text = err.message.toLowerCase();
  const m = /role\W+(\w+)\W+is not (?:available|offered|allowed|supported)(?: on| in| for)?(?: the| your)?(?: ([\w -]+?) plan)?/.exec(text);
  const role = ROLES.find((r) => r === m?.[1]);
  if (!m || !role) return undefined;
  const named = m[2]?.trim();
  return { reported: named ? (PLAN_NAMES[named] ?? null) : null, role };
}

/**
 * FullStory's word about its plan, once it gave it: roles the reported plan lacks are
 * not asked for again (the outbox holds them as blocked) until the configuration changes.
 * So an impossible role costs one FullStory call per replica, not a retry storm.
 */
export class PlanWord {
  private facts: PlanWordFacts | undefined;

  constructor(
    readonly configured: Plan,
    private readonly persist: (facts: PlanWordFacts) => Promise<void> = async () => {},
  ) {}

  /** What a replica (or an earlier run) recorded; dropped when it was said under another configured plan. */
  restore(facts: PlanWordFacts | undefined): boolean {
    if (!facts || facts.configured !== this.configured) return false;
    this.facts = facts;
    return true;
  }

  get word(): PlanWordFacts | undefined {
    return this.facts;
  }

  /** Learns from a failed delivery; true when it was FullStory saying the plan lacks the role. */
  async learn(err: unknown): Promise<boolean> {
    const refused = planRefusal(err);
    if (!refused) return false;
    if (this.facts?.role === refused.role && this.facts.reported === refused.reported) return true;
    this.facts = { configured: this.configured, ...refused, detail: (err as Error).message.slice(0, 200), at: new Date().toISOString() };
    await this.persist(this.facts);
    return true;
  }

  /** Why a change to `role` cannot succeed under what FullStory said, or undefined. */
  blocks(role: string): string | undefined {
    const f = this.facts;
    if (!f) return undefined;
    const lacks = f.reported ? !(PLAN_ROLES[f.reported] as readonly string[]).includes(role) : role === f.role;
    return lacks ? `blocked: ${planMessage(f)}` : undefined;
  }
}

/** The plain sentence `check`, /readyz and the console say. */
export function planMessage(f: PlanWordFacts): string {
  const said = f.reported ? `FullStory said it is on the ${f.reported} plan` : `FullStory refused the role ${f.role} as not on its plan`;
  const fix = f.reported
    ? `set fullstory.plan (FULLSTORY_PLAN) to ${f.reported} and map no role that plan lacks`
    : `check the plan in FullStory and set fullstory.plan (FULLSTORY_PLAN) to match`;
  return `fullstory.plan is "${f.configured}", but ${said} ("${f.detail}", ${f.at}): ${fix}. Role changes it cannot take are held as blocked until then.`;
}

/** A role change FullStory said its plan cannot take: not sent again until the configuration changes. */
export class PlanBlocked extends Error {
  override name = 'PlanBlocked';
}
