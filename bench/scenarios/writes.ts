/** The write routes the side-by-side run compares: each as the IdP sends it to the bridge, and its nearest request straight to FullStory. */
export interface WriteRoute {
  name: string;
  method: 'POST' | 'PATCH';
  directMethod: 'POST' | 'PATCH' | 'PUT';
  /** Request n, on a bridge's own 200 users and group. */
  bridge: (n: number, users: string[], group: string) => { path: string; body: unknown };
  direct: (n: number, users: string[], group: string) => { path: string; body: unknown };
}

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
let run = 0;

export function writeRoutes(): WriteRoute[] {
  const tag = `${Date.now().toString(36)}${run++}`;
  // Every request a real change: each user is disabled, then (next time round) enabled again.
  const flip = (n: number, users: string[]) => Math.floor(n / users.length) % 2 === 1;
  return [
    {
      name: 'PATCH /Users (Entra disable)',
      method: 'PATCH',
      directMethod: 'PATCH',
      bridge: (n, users) => ({
        path: `/scim/v2/Users/${users[n % users.length]}`,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: flip(n, users) ? 'True' : 'False' }] },
      }),
      direct: (n, users) => ({
        path: `/scim/v2/Users/${users[n % users.length]}`,
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: flip(n, users) }] },
      }),
    },
    {
      name: 'POST /Users',
      method: 'POST',
      directMethod: 'POST',
      bridge: (n, users) => ({
        path: '/scim/v2/Users',
        body: { schemas: [USER], userName: `b${tag}_${users[0]}_${n}@bench.example`, name: { givenName: 'B', familyName: 'N' }, active: true },
      }),
      direct: (n) => ({
        path: '/scim/v2/Users',
        body: { schemas: [USER], userName: `d${tag}_${n}@bench.example`, name: { givenName: 'B', familyName: 'N' }, active: true },
      }),
    },
    {
      // FullStory has no group PATCH: its baseline is a PUT of a one-member group.
      name: 'PATCH /Groups (add one member)',
      method: 'PATCH',
      directMethod: 'PUT',
      bridge: (n, users, group) => ({
        path: `/scim/v2/Groups/${group}`,
        body: { Operations: [{ op: flip(n, users) ? 'remove' : 'add', path: 'members', value: [{ value: users[n % users.length] }] }] },
      }),
      direct: (n, users, group) => ({ path: `/scim/v2/Groups/${group}`, body: { displayName: 'Bench direct', members: [{ value: users[n % users.length] }] } }),
    },
  ];
}
