import type { Kysely } from 'kysely';
import { identityKey } from '../lib/identity-text.js';
import type { Database } from './schema.js';
import { emailsOf } from './rows.js';
import type { UserResource } from '../scim/user.js';

/** Where the migration reports the twins it found (read by `check` and the startup log). */
export const IDENTITY_TWINS_KEY = 'identity.twins';

export interface IdentityTwin {
  id: string;
  userName: string;
  /** The user that keeps the shared key. */
  twinOf: string;
}

const SLICE = 5_000;

/**
 * Re-keys userNames and emails with identityKey. A user whose new key another user already
 * owns (full-width and ASCII spellings of one person, made before the key folded them) is a
 * twin: both are kept, the twin under a key of its own that no lookup spells
 * (`twin:<id>:<old key>`), and the pair is reported in kv for an operator to settle in the
 * IdP. The owner of a key is the user already keyed so, else the earliest made.
 */
export async function rekeyIdentities(db: Kysely<Database>): Promise<void> {
  const users = await db.selectFrom('users').select(['id', 'user_name', 'user_name_lc']).orderBy('created_at').orderBy('id').execute();
  const owner = new Map<string, string>();
  for (const u of users) if (identityKey(u.user_name) === u.user_name_lc) owner.set(u.user_name_lc, u.id);
  const changes: { id: string; key: string }[] = [];
  const twins: IdentityTwin[] = [];
  for (const u of users) {
    const key = identityKey(u.user_name);
    if (key === u.user_name_lc && owner.get(key) === u.id) continue;
    const held = owner.get(key);
    if (held === undefined) {
      owner.set(key, u.id);
      changes.push({ id: u.id, key });
    } else if (held !== u.id) {
      twins.push({ id: u.id, userName: u.user_name, twinOf: held });
      changes.push({ id: u.id, key: `twin:${u.id}:${u.user_name_lc}` });
    }
  }
  // Two steps, so that no row takes a key another still holds on its way to a new one.
  for (const c of changes)
    await db
      .updateTable('users')
      .set({ user_name_lc: `rekey:${c.id}` })
      .where('id', '=', c.id)
      .execute();
  for (const c of changes) await db.updateTable('users').set({ user_name_lc: c.key }).where('id', '=', c.id).execute();
  await rekeyEmails(db);
  if (twins.length > 0) {
    await db.deleteFrom('kv').where('key', '=', IDENTITY_TWINS_KEY).execute();
    await db
      .insertInto('kv')
      .values({ key: IDENTITY_TWINS_KEY, value: JSON.stringify(twins) })
      .execute();
  }
}

/** Emails are an index for lookups (no uniqueness): each user's rows are written again where a key changed. */
async function rekeyEmails(db: Kysely<Database>): Promise<void> {
  // In slices by id: 100,000 users' whole resources at once would not fit the heap the bridge runs with.
  for (let after = ''; ;) {
    const slice = await db.selectFrom('users').select(['id', 'resource']).where('id', '>', after).orderBy('id').limit(SLICE).execute();
    if (slice.length === 0) return;
    after = slice[slice.length - 1]!.id;
    const current = await db
      .selectFrom('user_emails')
      .select(['user_id', 'value_lc'])
      .where(
        'user_id',
        'in',
        slice.map((u) => u.id),
      )
      .execute();
    const byUser = new Map<string, string[]>();
    for (const e of current) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e.value_lc]);
    for (const u of slice) {
      const want = emailsOf(JSON.parse(u.resource) as UserResource);
      const have = byUser.get(u.id) ?? [];
      if (
        want
          .map((e) => e.value_lc)
          .sort()
          .join('\n') === [...have].sort().join('\n')
      )
        continue;
      await db.deleteFrom('user_emails').where('user_id', '=', u.id).execute();
      if (want.length > 0)
        await db
          .insertInto('user_emails')
          .values(want.map((e) => ({ user_id: u.id, ...e })))
          .execute();
    }
  }
}
