import type { WriteRecorder } from '../writes.js';
import type { DeliveryResult, RoleChange, RoleDelivery } from './delivery.js';
import { VERIFIED_NOTE } from './modes.js';

/**
 * Roles through SSO: FullStory takes the role from the IdP's SAML assertion at sign-in
 * (`saml-roles` prints that configuration), so nothing is sent through SCIM. The change
 * is settled at once and kept on the record; the role stays the bridge's desired one,
 * which `plan` and the console show as the role due at the next sign-in.
 */
export class SsoDelivery implements RoleDelivery {
  readonly batched = true;

  constructor(private readonly record: WriteRecorder = () => {}) {}

  deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    for (const c of changes) {
      this.record({
        operation: 'roles.sso',
        userId: c.userId,
        change: `role → ${c.role} at next sign-in`,
        upstreamStatus: null,
        ok: true,
        detail: VERIFIED_NOTE.none,
      });
    }
    return Promise.resolve(new Map(changes.map((c) => [c.userId, null])));
  }
}
