import { describe, expect, it } from 'vitest';
import { ScimError } from '../../src/scim/errors.js';
import { parseEqFilter } from '../../src/scim/filter.js';
import { GROUP_FILTER_VOCABULARY, USER_FILTER_VOCABULARY } from '../../src/store/store.js';

const users = (f: string) => parseEqFilter(f, USER_FILTER_VOCABULARY);
const refused = (f: string) => {
  try {
    users(f);
  } catch (err) {
    return err instanceof ScimError ? [err.status, err.scimType] : err;
  }
  return 'accepted';
};

describe('parseEqFilter: what the IdPs send, as terms the index answers', () => {
  it("Okta's userName lookup, attribute names in any case", () => {
    expect(users('userName eq "test.user@okta.local"')).toEqual([{ key: 'userName', value: 'test.user@okta.local' }]);
    expect(users('USERNAME eq "a@b.c"')).toEqual([{ key: 'userName', value: 'a@b.c' }]);
  });

  it("Entra's externalId and complex email lookups, and a conjunction", () => {
    expect(users('externalId eq "0a21f0f2-8d2a-4f8e"')).toEqual([{ key: 'externalId', value: '0a21f0f2-8d2a-4f8e' }]);
    expect(users('emails[type eq "work"].value eq "a@b.c"')).toEqual([{ key: 'emails.value', value: 'a@b.c', type: 'work' }]);
    expect(users('userName eq "a" and active eq true')).toEqual([
      { key: 'userName', value: 'a' },
      { key: 'active', value: true },
    ]);
  });

  it('a value stays data, whatever it carries (escaped quotes, operators, parentheses)', () => {
    expect(users('userName eq "jo\\"hn and x eq \\"y\\" (or)"')).toEqual([{ key: 'userName', value: 'jo"hn and x eq "y" (or)' }]);
  });

  it("groups' displayName and member lookups", () => {
    expect(parseEqFilter('displayName eq "FS Admins"', GROUP_FILTER_VOCABULARY)).toEqual([{ key: 'displayName', value: 'FS Admins' }]);
    expect(parseEqFilter('members.value eq "u1"', GROUP_FILTER_VOCABULARY)).toEqual([{ key: 'members.value', value: 'u1' }]);
  });

  it('what the index cannot answer is 400 invalidFilter', () => {
    for (const f of [
      'userName eq "a" or userName eq "b"',
      'displayName eq "x"',
      'userName co "a"',
      'userName eq',
      'userName eq "unterminated',
      'x'.repeat(1025),
    ]) {
      expect(refused(f), f).toEqual([400, 'invalidFilter']);
    }
  });
});
