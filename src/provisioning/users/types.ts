import type { FullStoryApi } from '../../fullstory/api.js';
import type { Capabilities } from '../../fullstory/preflight.js';
import type { RoleChannel } from '../../fullstory/roles/channel.js';
import type { FullStoryWrite } from '../../fullstory/writes.js';
import type { UserResource } from '../../scim/user.js';
import { ScimError } from '../../scim/errors.js';
import type { Store } from '../../store/store.js';
import type { DeprovisionGuard } from '../guard.js';
import type { IndexRefresh } from '../index-refresh.js';
import type { LastAdmin } from '../last-admin.js';
import type { RolePolicy } from '../role-policy.js';

/** What a user operation returns: the IdP's view, ready to render. */
export interface UserView {
  id: string;
  resource: UserResource;
  created: string;
  lastModified: string;
  version: number;
}

/** Filled in while an operation runs, for the audit log. */
export interface OpContext {
  note?: string;
  /** Who or what was changed, in words: a userName or a group name. */
  subject?: string;
  /** The detail of the error the IdP was answered with. */
  error?: string;
  /** If-Match: the version the change is for; checked against the current one before anything is written. */
  precondition?: (version: number) => boolean;
  /** The IdP token's name, for a hold's record. */
  tokenName?: string;
  /** A change the guard held and an operator released: it is not counted again. */
  released?: boolean;
  /** Every FullStory write this operation made, in order: the audit log's rows. */
  writes?: FullStoryWrite[];
  /** The guard held this change (answered 503). */
  held?: boolean;
}

/** A change asked for another version than the resource's: RFC 7644 §3.14, and nothing changes. */
export function checkPrecondition(ctx: OpContext, version: number): void {
  if (ctx.precondition && !ctx.precondition(version)) throw new ScimError(412, `The resource is at version W/"${version}", not the one If-Match names`);
}

export interface ListQuery {
  filter?: string | undefined;
  startIndex: number;
  count: number;
  /** RFC 7644 §3.4.2.3: an attribute path to order by, and whether descending. */
  sortBy?: string | undefined;
  descending?: boolean;
  /** A search across resource types (POST /.search): an attribute this type lacks matches nothing, rather than 400. */
  anyAttribute?: boolean;
}

export interface UsersServiceDeps {
  store: Store;
  api: FullStoryApi;
  capabilities: () => Capabilities;
  policy: RolePolicy;
  /** How FullStory carries roles: whether user bodies carry `roles`, and in which form. */
  roles: RoleChannel;
  /** Wakes the role-sync worker after an outbox write. */
  kick: () => void;
  /** shadow: nothing reaches FullStory (the api is a ShadowApi) and new ids are the bridge's own. */
  mode?: 'live' | 'shadow';
  /** Holds mass deactivations and deletions; none without one. */
  guard?: DeprovisionGuard;
  /** Asks FullStory whether an admin would remain. */
  lastAdmin?: LastAdmin;
  /** Whether the index is a complete, fresh copy of FullStory's users (then it answers alone). */
  index?: IndexRefresh;
  /** The role FullStory gives a new user that carries none (its plan's default). */
  newUserRole?: string;
}
