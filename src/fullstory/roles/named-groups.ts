import type { FullStoryApi } from '../api.js';
import { UpstreamError } from '../errors.js';
import type { Capabilities } from '../preflight.js';
import { recordWrite, type WriteRecorder } from '../writes.js';
import type { Locks } from './delivery.js';
import { VERIFIED_NOTE } from './modes.js';

/**
 * FullStory groups the bridge keeps by name (role groups, mirrored IdP groups): found by
 * filter (or by listing where FullStory runs none), created at most once across replicas
 * (never two of one name), ids remembered; an id FullStory answers 404 for is found again.
 */
export class NamedGroups {
  private readonly ids = new Map<string, string>();
  /** Ids FullStory answered 404 for: preflight's word on them is out of date. */
  private readonly gone = new Set<string>();

  constructor(
    private readonly api: FullStoryApi,
    private readonly locks: Locks,
    private readonly capabilities: () => Capabilities,
    private readonly record: WriteRecorder,
    /** Lock names: `<prefix>:<name>` around a rewrite, `<prefix>-create:<name>` around a creation. */
    private readonly prefix: string,
    /** An id preflight already saw for the name. */
    private readonly seen: (name: string) => string | undefined = () => undefined,
  ) {}

  /** Runs `fn` on the group's id under its lock (created first when `create`); found again once after a 404. Nothing when there is no such group. */
  async withGroup(name: string, create: string | false, fn: (id: string) => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const id = await this.locate(name, create);
      if (!id) return;
      try {
        await this.locks.withLock(`${this.prefix}:${name.toLowerCase()}`, () => fn(id));
        return;
      } catch (err) {
        if (!(err instanceof UpstreamError && err.status === 404) || attempt > 0) throw err;
        this.gone.add(id);
        this.ids.delete(name.toLowerCase());
      }
    }
  }

  /**
   * The one way a group's members are changed: read it, let `edit` say who it should hold,
   * PUT it whole (FullStory has no group PATCH) when that differs, one audit row, and
   * return the members FullStory kept (its answer, or a read-back); undefined when nothing
   * changed. Call it inside `withGroup`, whose lock keeps concurrent rewrites from losing one.
   */
  async rewrite(id: string, edit: (current: ReadonlySet<string>) => Set<string>, label: string): Promise<Set<string> | undefined> {
    const group = await this.api.getGroup(id);
    const before = new Set((group.members ?? []).map((m) => m.value));
    const after = edit(before);
    const added = [...after].filter((m) => !before.has(m)).length;
    const removed = [...before].filter((m) => !after.has(m)).length;
    if (added === 0 && removed === 0) return undefined;
    const facts = {
      operation: 'groups.replace' as const,
      group: group.displayName,
      change: `+${added} −${removed} members (${label})`,
      detail: VERIFIED_NOTE.membership,
    };
    const answer = await recordWrite(this.record, facts, () =>
      this.api.replaceGroup({ id, displayName: group.displayName, members: [...after].map((value) => ({ value })) }),
    );
    return new Set((answer.members ?? (await this.api.getGroup(id)).members ?? []).map((m) => m.value));
  }

  /** The group's id: known, seen by preflight, found in FullStory, or (when `create` says why) created once. */
  private async locate(name: string, create: string | false): Promise<string | undefined> {
    const key = name.toLowerCase();
    const seen = this.seen(name);
    const known = this.ids.get(key) ?? (seen && !this.gone.has(seen) ? seen : undefined);
    if (known) return known;
    return this.locks.withLock(`${this.prefix}-create:${key}`, async () => {
      const filters = { filters: this.capabilities().groupFilters };
      let found = await this.api.findGroup(name, filters);
      if (!found && create) {
        try {
          found = await recordWrite(this.record, { operation: 'groups.create', group: name, change: create }, () => this.api.createGroup(name));
        } catch (err) {
          // Another replica (or FullStory itself) made it meanwhile: take that one.
          if (!(err instanceof UpstreamError && err.status === 409)) throw err;
          found = await this.api.findGroup(name, filters);
          if (!found) throw err;
        }
      }
      if (found) {
        this.ids.set(key, found.id);
        this.gone.delete(found.id);
      }
      return found?.id;
    });
  }
}
