import type { FastifyInstance } from 'fastify';
import { baseUrl, listResponse, project, renderGroup, renderUser, sendScim, wantsMembers } from '../present.js';
import { listQuery, searchQuery } from '../query.js';

/**
 * POST /.search at the root (RFC 7644 §3.4.3): users, then groups, matching one filter,
 * paged across both as one list (each type sorted on its own where sortBy is given).
 */
export default async function searchRoutes(app: FastifyInstance) {
  const { users, groups } = app.deps;

  app.post('/.search', async (req, reply) => {
    const q = searchQuery(req.body);
    const lq = { ...listQuery(q), anyAttribute: true };
    const base = baseUrl(req);
    const u = await users.list(lq);
    // Groups fill what is left of the page, from where the users end.
    const left = lq.count - u.views.length;
    const g = await groups.list(
      { ...lq, startIndex: Math.max(1, lq.startIndex - u.total), count: left > 0 ? left : 0 },
      wantsMembers(q.attributes, q.excludedAttributes),
    );
    const resources = [...u.views.map((v) => renderUser(v, base)), ...g.views.map((v) => renderGroup(v, base))].map((r) =>
      project(r, q.attributes, q.excludedAttributes),
    );
    return sendScim(reply, listResponse(resources, u.total + g.total, lq.startIndex));
  });
}
