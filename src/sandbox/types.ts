import type { Role } from '../config/roles.js';

export interface SbUser {
  id: string;
  userName: string;
  name?: { givenName?: string; familyName?: string };
  displayName?: string;
  emails?: { value: string; type?: string; primary?: boolean }[];
  active: boolean;
  externalId?: string;
  /** The role `roles` carries (roles-attribute), or SSO gave at the last sign-in (sso). */
  role: Role;
  /** A role FullStory has beyond the five (Umbrella Admin): set by tests, shown as is, replaced by a `roles` write. */
  foreignRole?: string;
  created: string;
  lastModified: string;
}

export interface SbGroup {
  id: string;
  displayName: string;
  members: string[];
  created: string;
  lastModified: string;
}

/** A failure the sandbox answers with; the server renders it in the profile's error style. */
export class SbError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: string,
  ) {
    super(detail);
  }
}
