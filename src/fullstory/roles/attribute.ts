import type { FsUser, FullStoryApi } from '../api.js';
import { UpstreamError } from '../errors.js';
import type { Capabilities } from '../preflight.js';
import type { Role } from '../../config/roles.js';
import type { WriteRecorder } from '../writes.js';
import { droppedMessage, type RoleChannel } from './channel.js';
import { refusal, RoleNotApplied, type DeliveryResult, type RoleChange, type RoleDelivery } from './delivery.js';
import { VERIFIED_NOTE } from './modes.js';
import { decodeRoles, encodeRoles } from './wire.js';

/** Roles travel in the user's `roles` attribute: one write per user, each read back, each audited with what the read-back showed. */
export class RolesAttributeDelivery implements RoleDelivery {
  readonly batched = false;
  constructor(
    private readonly api: FullStoryApi,
    private readonly capabilities: () => Capabilities,
    private readonly channel: RoleChannel,
    private readonly record: WriteRecorder = () => {},
  ) {}

  async deliver(changes: RoleChange[]): Promise<DeliveryResult> {
    const results: DeliveryResult = new Map();
    await Promise.all(changes.map(async (c) => results.set(c.userId, await this.deliverOne(c))));
    return results;
  }

  private async deliverOne(c: RoleChange): Promise<Error | null> {
    for (;;) {
      const form = this.channel.form;
      const patch = this.capabilities().patchUsers;
      const operation = patch ? 'users.patch' : 'users.replace';
      let answer: FsUser | undefined;
      try {
        // Without PATCH the user is read first, and PUT whole with its role; so is everyone
        // once a role outside the five was seen, since such a role is never overwritten.
        const current = patch && !this.channel.foreignSeen ? undefined : await this.api.getUser(c.userId, 'sync');
        const shown = decodeRoles(current?.roles);
        if (shown.kind === 'other') return this.leaveAlone(c, shown.name);
        answer = await this.write(c.userId, encodeRoles(c.role as Role, form), patch ? undefined : current);
      } catch (err) {
        if (err instanceof UpstreamError) this.audit(c, operation, err.status, err);
        // A guessed form FullStory refuses: try the next before calling the change failed.
        if (refusal(err) && this.channel.refuseForm(form)) continue;
        return err as Error;
      }
      const error = await this.verify(c, answer).catch((err: Error) => err);
      this.audit(c, operation, patch && answer === undefined ? 204 : 200, error);
      return error;
    }
  }

  /** A teammate whose FullStory role the bridge does not manage: nothing written, and the record says why. */
  private leaveAlone(c: RoleChange, name: string): null {
    const detail = `FullStory shows the role "${name}", which the bridge does not manage: left alone`;
    this.record({ operation: 'roles.left-alone', userId: c.userId, change: `role → ${c.role} not sent`, upstreamStatus: null, ok: true, detail });
    return null;
  }

  /** One row per write: FullStory's status, and whether its answer or a read-back showed the role. */
  private audit(c: RoleChange, operation: 'users.patch' | 'users.replace', status: number, error: Error | null): void {
    this.record({
      operation,
      userId: c.userId,
      change: `role → ${c.role}`,
      upstreamStatus: status,
      ok: error === null,
      detail: error ? error.message : VERIFIED_NOTE['read-back'],
    });
  }

  private async write(userId: string, roles: unknown[], current: FsUser | undefined): Promise<FsUser | undefined> {
    if (!current) return this.api.patchUser(userId, [{ op: 'replace', path: 'roles', value: roles as never }], 'sync');
    const { id: _id, meta: _meta, schemas: _schemas, ...rest } = current;
    return this.api.replaceUser(userId, { ...rest, roles }, 'sync');
  }

  /** Done only when FullStory's answer, or a read-back, shows the role. */
  private async verify(c: RoleChange, answer: FsUser | undefined): Promise<Error | null> {
    let seen = decodeRoles(answer?.roles);
    if (seen.kind !== 'role') seen = decodeRoles((await this.api.getUser(c.userId, 'sync')).roles);
    if (seen.kind === 'role' && seen.role === c.role) return null;
    if (seen.kind === 'role') return new RoleNotApplied(`FullStory kept the role ${seen.role} after the bridge wrote ${c.role}`, false);
    this.channel.observeDropped();
    return new RoleNotApplied(droppedMessage(this.channel.setting, this.channel.groups), this.channel.delivery !== 'roles-attribute');
  }
}
