import { drift, type PlanSummary } from '../plan/scheduled.js';
import type { DeliveryVerdict } from '../sync/health.js';
import type { NoticeFacts } from './notices.js';

/** A state a person is told of when it changes: the notice to send on entering it. */
export interface Condition {
  topic: 'delivery' | 'fullstory' | 'drift';
  state: string;
  /** The quiet state: entering it first (a fresh start) sends nothing. */
  ok: boolean;
  /** What entering it says; none: entering it says nothing. */
  body?: NoticeFacts;
}

export interface ConditionSources {
  delivery: () => DeliveryVerdict;
  fullstory: () => { ok: boolean; reason?: string | undefined };
  lastPlan: () => Promise<PlanSummary | undefined>;
}

/** The states watched: role delivery, FullStory's word on the bridge, and drift found by a plan. */
export async function conditions(src: ConditionSources): Promise<Condition[]> {
  return [delivery(src.delivery()), fullstory(src.fullstory()), ...planDrift(await src.lastPlan())];
}

function delivery(v: DeliveryVerdict): Condition {
  if (!v.degraded)
    return {
      topic: 'delivery',
      state: 'ok',
      ok: true,
      body: { event: 'delivery-recovered', text: 'FullStory SCIM bridge: role delivery to FullStory recovered.' },
    };
  const text = `FullStory SCIM bridge: role delivery to FullStory is degraded since ${v.since}: ${v.reason} (${v.failingUsers} users failing, ${v.deliveredUsers} delivered). Role changes stay queued and are retried; /readyz says more.`;
  return {
    topic: 'delivery',
    state: 'degraded',
    ok: false,
    body: { event: 'delivery-degraded', text, reason: v.reason, failingUsers: v.failingUsers, deliveredUsers: v.deliveredUsers },
  };
}

function fullstory(r: { ok: boolean; reason?: string | undefined }): Condition {
  if (r.ok)
    return {
      topic: 'fullstory',
      state: 'ok',
      ok: true,
      body: { event: 'fullstory-accepted', text: 'FullStory SCIM bridge: FullStory accepts the bridge again; changes flow.' },
    };
  const reason = r.reason ?? 'FullStory refuses the bridge';
  const text = `FullStory SCIM bridge: FullStory refuses the bridge: ${reason}. The IdP is answered 503 until it is fixed; \`fullstory-scim-bridge check\` says what to do.`;
  return { topic: 'fullstory', state: 'refused', ok: false, body: { event: 'fullstory-refused', text, reason } };
}

/** Drift appearing (a plan that found changes after one that found none, or after none at all). */
function planDrift(p: PlanSummary | undefined): Condition[] {
  if (!p) return [];
  const n = drift(p);
  if (n === 0) return [{ topic: 'drift', state: 'ok', ok: true }];
  const text = `FullStory SCIM bridge: ${p.scheduled ? 'the scheduled plan' : 'a plan'} (${p.at}) found drift between the IdP and FullStory: ${p.creates} to create, ${p.updates} to update, ${p.deactivations} to deactivate, ${p.roleChanges} role changes. Nothing was applied; \`fullstory-scim-bridge plan\` lists them.`;
  return [
    {
      topic: 'drift',
      state: 'drift',
      ok: false,
      body: { event: 'drift', text, plan: { at: p.at, creates: p.creates, updates: p.updates, deactivations: p.deactivations, roleChanges: p.roleChanges } },
    },
  ];
}
