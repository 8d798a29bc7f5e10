import type { FastifyReply } from 'fastify';
import { SANDBOX_BASE_PATH, type SandboxContext } from './context.js';
import type { ProfilePatch } from './profile.js';

/** Discovery, telling the truth about the profile, or 404 where it has none (#15). */
export function registerDiscovery(ctx: SandboxContext): void {
  const discovery = (reply: FastifyReply, body: () => unknown) => (ctx.profile().discovery ? ctx.send(reply, 200, body()) : ctx.fail(reply, 404, 'Not found'));
  ctx.app.get(`${SANDBOX_BASE_PATH}/ServiceProviderConfig`, async (_req, reply) =>
    discovery(reply, () => ({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: ctx.profile().patchUsers },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: ctx.profile().maxPage },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [{ type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'FullStory SCIM token', primary: true }],
      meta: { resourceType: 'ServiceProviderConfig' },
    })),
  );
  ctx.app.get(`${SANDBOX_BASE_PATH}/ResourceTypes`, async (_req, reply) =>
    discovery(reply, () => {
      const types = [
        {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
          id: 'User',
          name: 'User',
          endpoint: '/Users',
          schema: 'urn:ietf:params:scim:schemas:core:2.0:User',
        },
      ];
      if (ctx.profile().groups !== 'none')
        types.push({ ...types[0]!, id: 'Group', name: 'Group', endpoint: '/Groups', schema: 'urn:ietf:params:scim:schemas:core:2.0:Group' });
      return ctx.list(types, types.length, 1);
    }),
  );
  ctx.app.get(`${SANDBOX_BASE_PATH}/Schemas`, async (_req, reply) =>
    discovery(reply, () => ctx.list([{ id: 'urn:ietf:params:scim:schemas:core:2.0:User', name: 'User' }], 1, 1)),
  );
}

/** Not FullStory: a window for tests, benchmarks and outside checks into what FullStory holds. */
export function registerWindow(ctx: SandboxContext, control: { roles(): Map<string, string>; set(patch: ProfilePatch): void }): void {
  ctx.app.get('/_sandbox/counters', async () => ctx.counters.snapshot());
  ctx.app.get('/_sandbox/roles', async () => Object.fromEntries(control.roles()));
  /** How many users hold each role: a cheap probe while waiting for a propagation (the listing is one entry per user). */
  ctx.app.get('/_sandbox/role-counts', async () => ctx.state.roleCounts());
  /** Changes switches at run time (benchmarks, outside checks): a partial profile, e.g. {"rateLimit": null}. */
  ctx.app.post('/_sandbox/set', async (req, reply) => {
    const patch = req.body;
    if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return ctx.fail(reply, 400, 'Body must be a partial profile object');
    control.set(patch as ProfilePatch);
    return ctx.profile();
  });
  ctx.app.post('/_sandbox/reset-counters', async () => {
    ctx.counters.reset();
    return { ok: true };
  });
}
