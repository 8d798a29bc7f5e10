/** FullStory's assignable roles, highest first (the default precedence). */
export const ROLES = ['admin', 'architect', 'standard', 'explorer', 'guest'] as const;
export type Role = (typeof ROLES)[number];

export const PLANS = ['enterprise', 'business', 'data-direct'] as const;
export type Plan = (typeof PLANS)[number];

/** Which roles each FullStory plan offers (FullStory help: "What user roles are available"). */
export const PLAN_ROLES: Record<Plan, readonly Role[]> = {
  enterprise: ROLES,
  business: ['admin', 'standard', 'guest'],
  'data-direct': ['admin', 'architect'],
};

/** The role FullStory gives a new user who carries none: Standard where the plan has it. */
export function planDefaultRole(plan: Plan): Role {
  const roles = PLAN_ROLES[plan];
  return roles.includes('standard') ? 'standard' : roles[roles.length - 1]!;
}
