import { SANDBOX_BASE_PATH, type SandboxContext } from './context.js';
import type { FastifyReply } from 'fastify';

/** /Groups: GET, POST, PUT; never PATCH or DELETE; none at all where the profile says so (#12). */
export function registerGroups(ctx: SandboxContext): void {
  const groupsOn = (reply: FastifyReply) => {
    if (ctx.profile().groups === 'none') {
      void ctx.fail(reply, 404, 'Not found');
      return false;
    }
    return true;
  };
  ctx.app.get(`${SANDBOX_BASE_PATH}/Groups`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const q = req.query as Record<string, string | undefined>;
    const { start, count } = ctx.page(q);
    let all = [...ctx.state.groups.values()];
    if (q.filter) {
      // #13: the strict column runs no filter at all on Groups.
      if (ctx.profile().filters !== 'standard') return ctx.fail(reply, 400, 'filters are not supported on groups', 'invalidFilter');
      const terms = ctx.parseFilter(q.filter, ['displayname']);
      all = all.filter((g) => terms.every((t) => g.displayName.toLowerCase() === t.value.toLowerCase()));
    }
    const slice = all.slice(start - 1, start - 1 + count);
    return ctx.send(
      reply,
      200,
      ctx.list(
        slice.map((g) => ctx.state.renderGroup(g, ctx.location(req))),
        all.length,
        start,
      ),
    );
  });
  ctx.app.get(`${SANDBOX_BASE_PATH}/Groups/:id`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const g = ctx.state.groups.get((req.params as { id: string }).id);
    if (!g) return ctx.fail(reply, 404, 'Group not found');
    return ctx.send(reply, 200, ctx.state.renderGroup(g, ctx.location(req)));
  });
  ctx.app.post(`${SANDBOX_BASE_PATH}/Groups`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const g = ctx.state.createGroup((req.body ?? {}) as Record<string, unknown>);
    if (ctx.maybeReset(req, reply)) return reply;
    return ctx.send(reply, 201, ctx.state.renderGroup(g, ctx.location(req)));
  });
  ctx.app.put(`${SANDBOX_BASE_PATH}/Groups/:id`, async (req, reply) => {
    if (!groupsOn(reply)) return reply;
    const g = ctx.state.replaceGroup((req.params as { id: string }).id, (req.body ?? {}) as Record<string, unknown>);
    if (ctx.maybeReset(req, reply)) return reply;
    return ctx.send(reply, 200, ctx.state.renderGroup(g, ctx.location(req)));
  });
  for (const method of ['PATCH', 'DELETE'] as const) {
    ctx.app.route({
      method,
      url: `${SANDBOX_BASE_PATH}/Groups/:id`,
      handler: async (_req, reply) => (groupsOn(reply) ? ctx.fail(reply, 405, `${method} is not supported on Groups`) : reply),
    });
  }
}
