/** What one change did to a group's membership, and the version it started from. */
export interface MembershipDelta {
  fromVersion: number;
  added: readonly string[];
  removed: readonly string[];
  /** Displays the change gave members it names (members only). */
  displays: ReadonlyMap<string, string>;
}

interface Entry {
  version: number;
  members: string[];
  displays: Map<string, string>;
}

/**
 * The members of the groups small enough to be answered with them after a PATCH, kept per
 * version in this process: a PATCH whose group this process last saw at the version the
 * change started from is answered from that copy and the change, not from another read.
 * Any other version (another replica wrote, a PUT, a restart) is read from the store.
 */
export class SmallGroups {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly limit: number,
    private readonly capacity = 256,
  ) {}

  /** The group at `fromVersion + 1`, when this process holds it at `fromVersion`; undefined otherwise, or when it has grown past the limit. */
  next(id: string, d: MembershipDelta): { members: string[]; displays: Map<string, string> } | undefined {
    const e = this.entries.get(id);
    this.entries.delete(id);
    if (!e || e.version !== d.fromVersion) return undefined;
    const removed = new Set(d.removed);
    const members = e.members.filter((m) => !removed.has(m));
    if (d.added.length > 0) members.push(...d.added);
    if (members.length > this.limit) return undefined;
    if (d.added.length > 0) members.sort();
    const displays = new Map([...e.displays].filter(([m]) => !removed.has(m)));
    for (const [m, name] of d.displays) displays.set(m, name);
    this.keep(id, { version: d.fromVersion + 1, members, displays });
    return { members: [...members], displays: new Map(displays) };
  }

  /** A group as a read found it, at the version the same read saw. */
  keep(id: string, e: Entry): void {
    this.entries.delete(id);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, e);
  }
}
