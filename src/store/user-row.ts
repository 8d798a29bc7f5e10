import type { UserResource } from '../scim/user.js';
import type { UsersTable } from './schema.js';

export interface UserRow {
  id: string;
  userName: string;
  externalId: string | null;
  active: boolean;
  role: string | null;
  resource: UserResource;
  createdAt: string;
  updatedAt: string;
  version: number;
  /** The IdP deleted it; FullStory may still hold it, deactivated. */
  deleted: boolean;
}

export function toRow(r: UsersTable): UserRow {
  return {
    id: r.id,
    userName: r.user_name,
    externalId: r.external_id,
    active: Number(r.active) === 1,
    role: r.role,
    resource: JSON.parse(r.resource) as UserResource,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    version: Number(r.version),
    deleted: r.deleted_at !== null,
  };
}
