import type { Role } from '../../config/roles.js';
import type { FsUser } from '../api.js';
import { decodeRoles, encodeRoles, ROLE_FORMS, type RoleForm } from './wire.js';

/**
 * How roles reach FullStory. `auto` chooses between the first two from what FullStory
 * shows; the last two are chosen only by the operator, since no SCIM read tells them apart
 * (modes.ts says what each can verify).
 */
export type Delivery = 'roles-attribute' | 'role-groups' | 'sso' | 'groups-passthrough';
export type DeliverySetting = 'auto' | Delivery;

/** What has been seen of how this FullStory carries roles. */
export interface RoleEvidence {
  /** FullStory serves /Groups. */
  groups: boolean;
  /** Users seen with a readable `roles`, and users seen with none at all. */
  rolesShown: number;
  rolesAbsent: number;
  /** The form `roles` was last seen written in. */
  form?: RoleForm;
  /** Role groups FullStory holds (names of roles). */
  roleGroups: readonly Role[];
  /** A `roles` write FullStory accepted and did not apply (read back without it). */
  dropped: boolean;
}

export interface DeliveryChoice {
  /** Undefined while nothing tells: no user seen yet and no role group. */
  delivery: Delivery | undefined;
  why: string;
  forced: boolean;
}

const shown = (e: RoleEvidence) => (e.form ? `, written as ${JSON.stringify(encodeRoles('architect', e.form))}` : '');

/** The delivery the evidence points to; a forced setting wins but is still explained. */
export function decideDelivery(setting: DeliverySetting, e: RoleEvidence): DeliveryChoice {
  if (setting !== 'auto') return { delivery: setting, why: `set by roles.delivery (${setting})`, forced: true };
  const auto = (delivery: Delivery | undefined, why: string): DeliveryChoice => ({ delivery, why, forced: false });
  if (!e.groups) return auto('roles-attribute', 'FullStory has no /Groups, so roles can only travel in `roles`');
  if (e.dropped) return auto('role-groups', 'FullStory accepted `roles` on a user and did not apply it');
  if (e.rolesShown > 0) return auto('roles-attribute', `FullStory shows \`roles\` on its users${shown(e)}`);
  if (e.roleGroups.length > 0) return auto('role-groups', `FullStory has role groups (${e.roleGroups.join(', ')}) and shows no \`roles\` on users`);
  if (e.rolesAbsent > 0) return auto('role-groups', 'FullStory returns users without `roles` and serves /Groups');
  return auto(undefined, 'no evidence yet (FullStory holds no user to look at); the first user FullStory returns decides');
}

/**
 * Where a forced delivery contradicts what FullStory shows: a plain warning naming the
 * setting, or undefined. A contradiction proven by a write shows as a failing delivery.
 */
export function contradiction(setting: DeliverySetting, e: RoleEvidence): string | undefined {
  if (setting === 'roles-attribute' && e.groups && e.rolesShown === 0 && (e.rolesAbsent > 0 || e.roleGroups.length > 0)) {
    return (
      'roles.delivery is "roles-attribute", but FullStory shows no `roles` on its users' +
      (e.roleGroups.length > 0 ? ` and has role groups (${e.roleGroups.join(', ')})` : '') +
      ': it probably carries roles in groups. Set roles.delivery to "role-groups" (ROLE_DELIVERY), or leave it on "auto".'
    );
  }
  if (setting === 'role-groups' && e.rolesShown > 0) {
    return 'roles.delivery is "role-groups", but FullStory shows `roles` on its users: it probably carries roles there. Set roles.delivery to "roles-attribute" (ROLE_DELIVERY), or leave it on "auto".';
  }
  return undefined;
}

/** The message a role delivery records when FullStory accepted `roles` and kept none of it. */
export function droppedMessage(setting: DeliverySetting, groups: boolean): string {
  if (!groups)
    return 'FullStory ignored `roles` and has no /Groups: it carries roles in neither way the bridge knows. Check the plan and that SCIM may assign roles for this account.';
  if (setting === 'roles-attribute') return 'FullStory ignored `roles`: it carries roles in groups; set `roles.delivery: role-groups` or leave it on auto.';
  return 'FullStory ignored `roles`: it carries roles in groups; the bridge now delivers roles as role groups.';
}

/**
 * The bridge's live picture of how roles reach FullStory: seeded by preflight, then fed
 * by every user FullStory returns and by the read-back of role writes, so the choice is
 * made (and re-made) from evidence rather than from a setting the operator must guess.
 */
export class RoleChannel {
  // Before preflight nothing is known, /Groups included: undecided, not "no /Groups".
  private evidence: RoleEvidence = { groups: true, rolesShown: 0, rolesAbsent: 0, roleGroups: [], dropped: false };
  private current: DeliveryChoice;
  /** Forms FullStory refused, where the form was only a guess. */
  private readonly refused = new Set<RoleForm>();

  constructor(
    readonly setting: DeliverySetting,
    private readonly onChange: (choice: DeliveryChoice, previous: DeliveryChoice) => void = () => {},
  ) {
    this.current = decideDelivery(setting, this.evidence);
  }

  get choice(): DeliveryChoice {
    return this.current;
  }

  get delivery(): Delivery | undefined {
    return this.current.delivery;
  }

  get groups(): boolean {
    return this.evidence.groups;
  }

  /** Preflight's findings replace what it measures; what writes proved is kept. */
  learn(found: Omit<RoleEvidence, 'dropped'>): void {
    this.update({ ...found, form: found.form ?? this.evidence.form, dropped: this.evidence.dropped && found.groups });
  }

  /** Users seen holding a role outside the five (Umbrella Admin), by FullStory id: never the bridge's to change. */
  private readonly foreign = new Map<string, string>();

  /** True once any teammate was seen with a role outside the five: role writes then look before they write. */
  get foreignSeen(): boolean {
    return this.foreign.size > 0;
  }

  /** Every user FullStory returns says whether it shows `roles`, and in which form. */
  observeUser(fs: FsUser | undefined): void {
    if (!fs) return;
    const r = decodeRoles(fs.roles);
    if (r.kind === 'other') this.foreign.set(fs.id, r.name);
    else if (this.foreign.size > 0) this.foreign.delete(fs.id);
    if (r.kind === 'role') {
      if (this.evidence.rolesShown === 0 || this.evidence.form !== r.form)
        this.update({ ...this.evidence, rolesShown: this.evidence.rolesShown + 1, form: r.form });
      else this.evidence.rolesShown++;
    } else if (r.kind === 'absent') {
      if (this.evidence.rolesAbsent === 0) this.update({ ...this.evidence, rolesAbsent: 1 });
      else this.evidence.rolesAbsent++;
    }
  }

  /** A `roles` write was accepted and not applied. */
  observeDropped(): void {
    if (!this.evidence.dropped) this.update({ ...this.evidence, dropped: true });
  }

  /** The form to write `roles` in: the one seen, else the first FullStory has not refused. */
  get form(): RoleForm {
    return this.evidence.form ?? ROLE_FORMS.find((f) => !this.refused.has(f)) ?? 'value-lower';
  }

  /** True when the form was seen on a user rather than guessed. */
  get formKnown(): boolean {
    return this.evidence.form !== undefined;
  }

  /** FullStory refused `roles` in a guessed form: the next write tries another. Returns whether one is left. */
  refuseForm(form: RoleForm): boolean {
    if (this.formKnown) return false;
    this.refused.add(form);
    return ROLE_FORMS.some((f) => !this.refused.has(f));
  }

  /**
   * `roles` for a user body sent on an IdP's behalf: only where roles travel in `roles`,
   * and only in a form seen on a user. A guessed form FullStory refuses would fail the
   * IdP's request; the worker, which can try another form, delivers the role instead.
   */
  bodyRoles(role: string | null): unknown[] | undefined {
    return role !== null && this.delivery === 'roles-attribute' && this.formKnown ? encodeRoles(role as Role, this.form) : undefined;
  }

  private update(next: RoleEvidence): void {
    this.evidence = next;
    const previous = this.current;
    this.current = decideDelivery(this.setting, next);
    if (previous.delivery !== this.current.delivery || previous.why !== this.current.why) this.onChange(this.current, previous);
  }
}
