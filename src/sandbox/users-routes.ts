import { SANDBOX_BASE_PATH, type SandboxContext } from './context.js';

/** /Users: GET (list, filter, by id), POST, PUT, and PATCH and DELETE where the profile has them (#6, #9). */
export function registerUsers(ctx: SandboxContext): void {
  ctx.app.get(`${SANDBOX_BASE_PATH}/Users`, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const { start, count } = ctx.page(q);
    const all = q.filter
      ? ctx.state.findUsers(ctx.parseFilter(q.filter, ctx.profile().filters === 'standard' ? ['username', 'externalid', 'emails.value'] : ['username']))
      : [...ctx.state.users.values()];
    const slice = all.slice(start - 1, start - 1 + count);
    return ctx.send(
      reply,
      200,
      ctx.list(
        slice.map((u) => ctx.state.render(u, ctx.location(req))),
        all.length,
        start,
      ),
    );
  });
  ctx.app.get(`${SANDBOX_BASE_PATH}/Users/:id`, async (req, reply) =>
    ctx.send(reply, 200, ctx.state.render(ctx.state.mustGet((req.params as { id: string }).id), ctx.location(req))),
  );
  ctx.app.post(`${SANDBOX_BASE_PATH}/Users`, async (req, reply) => {
    const user = ctx.state.createUser((req.body ?? {}) as Record<string, unknown>);
    if (ctx.maybeReset(req, reply)) return reply;
    reply.header('location', `${ctx.location(req)}/Users/${user.id}`);
    return ctx.send(reply, 201, ctx.state.render(user, ctx.location(req)));
  });
  ctx.app.put(`${SANDBOX_BASE_PATH}/Users/:id`, async (req, reply) => {
    const user = ctx.state.replaceUser((req.params as { id: string }).id, (req.body ?? {}) as Record<string, unknown>);
    if (ctx.maybeReset(req, reply)) return reply;
    return ctx.send(reply, 200, ctx.state.render(user, ctx.location(req)));
  });
  ctx.app.patch(`${SANDBOX_BASE_PATH}/Users/:id`, async (req, reply) => {
    if (!ctx.profile().patchUsers) return ctx.fail(reply, 405, 'PATCH is not supported on Users');
    const body = (req.body ?? {}) as Record<string, unknown>;
    const user = ctx.state.patchUser((req.params as { id: string }).id, body.Operations);
    if (ctx.maybeReset(req, reply)) return reply;
    return ctx.send(reply, 200, ctx.state.render(user, ctx.location(req)));
  });
  ctx.app.delete(`${SANDBOX_BASE_PATH}/Users/:id`, async (req, reply) => {
    if (!ctx.profile().deleteUsers) return ctx.fail(reply, 405, 'DELETE is not supported on Users');
    ctx.state.deleteUser((req.params as { id: string }).id);
    if (ctx.maybeReset(req, reply)) return reply;
    return ctx.send(reply, 204);
  });
}
