import { heldChange } from '../provisioning/release.js';
import type { HoldRow, NewNotice } from '../store/store.js';

/** The events a person is told of (the `event` field, and the metric's label). */
export type NoticeEvent = 'held' | 'hold-aged' | 'delivery-degraded' | 'delivery-recovered' | 'fullstory-refused' | 'fullstory-accepted' | 'drift';

/**
 * A notice as it is sent: `text` is what Slack and Teams incoming webhooks show as is; the
 * rest is for a program. It names users, roles and counts, never a token or a secret (an
 * IdP token is named by its configured name only).
 */
export interface NoticeFacts {
  event: NoticeEvent;
  text: string;
  [field: string]: unknown;
}

export type NoticeBody = NoticeFacts & { at: string };

const holdFields = (h: HoldRow) => ({
  hold: { id: h.id, kind: h.kind, userName: h.userName, role: h.role, reason: h.reason, tokenName: h.tokenName, heldAt: h.at },
});

const decide = (h: HoldRow) =>
  `Approve with \`fullstory-scim-bridge release ${h.id}\`, refuse with \`fullstory-scim-bridge reject ${h.id} --reason "…"\`, or use the console.`;

export function heldNotice(h: HoldRow, at: string): NewNotice {
  const text =
    h.kind === 'approval'
      ? `FullStory SCIM bridge: approval needed to ${heldChange(h)} in FullStory (asked through IdP token ${h.tokenName ?? '-'}; ${h.reason}). ${decide(h)}`
      : `FullStory SCIM bridge held a change: ${heldChange(h)}, because ${h.reason}. FullStory was not changed. ${decide(h)}`;
  return notice(`held:${h.id}`, { event: 'held', text, at, ...holdFields(h) });
}

export function agedNotice(h: HoldRow, at: string): NewNotice {
  const text = `FullStory SCIM bridge: a held change has waited over a day: ${heldChange(h)} (held ${h.at}). ${decide(h)}`;
  return notice(`hold-aged:${h.id}`, { event: 'hold-aged', text, at, ...holdFields(h) });
}

export function notice(key: string, body: NoticeBody): NewNotice {
  return { key, event: body.event, body: JSON.stringify(body) };
}
