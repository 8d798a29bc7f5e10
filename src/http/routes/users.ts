import type { FastifyInstance } from 'fastify';
import { baseUrl, listResponse, project, renderUser, sendResource, sendScim } from '../present.js';
import { etagOf, notModified } from '../etag.js';
import { listQuery, scimQuery, searchQuery, type ScimQuery } from '../query.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

type IdParams = { Params: { id: string } };

/** /Users: thin; the rules are in UsersService. */
export default async function usersRoutes(app: FastifyInstance) {
  const { users } = app.deps;

  const list = async (req: FastifyRequest, reply: FastifyReply, q: ScimQuery) => {
    const page = await users.list(listQuery(q));
    const base = baseUrl(req);
    const resources = page.views.map((v) => project(renderUser(v, base), q.attributes, q.excludedAttributes));
    return sendScim(reply, listResponse(resources, page.total, page.startIndex));
  };
  app.get('/Users', (req, reply) => list(req, reply, scimQuery(req)));
  // RFC 7644 §3.4.3: the same query in a body (a filter too long or too private for a URL).
  app.post('/Users/.search', (req, reply) => list(req, reply, searchQuery(req.body)));

  app.get<IdParams>('/Users/:id', async (req, reply) => {
    const q = scimQuery(req);
    const view = await users.get(req.params.id);
    if (notModified(req, view.version)) return reply.code(304).header('etag', etagOf(view.version)).send();
    return sendResource(reply, renderUser(view, baseUrl(req)), q);
  });

  // A write answers with the resource, projected as a GET would be (RFC 7644 §3.9).
  const answer = (req: FastifyRequest, reply: FastifyReply, view: Parameters<typeof renderUser>[0], status?: number) => {
    const q = scimQuery(req);
    return sendResource(reply, renderUser(view, baseUrl(req)), q, status);
  };

  app.post('/Users', async (req, reply) => {
    const view = await users.create(req.body, req.opCtx);
    req.resourceId = view.id;
    return answer(req, reply, view, 201);
  });

  app.put<IdParams>('/Users/:id', async (req, reply) => answer(req, reply, await users.replace(req.params.id, req.body, req.opCtx)));

  app.patch<IdParams>('/Users/:id', async (req, reply) => answer(req, reply, await users.patch(req.params.id, req.body, req.opCtx)));

  app.delete<IdParams>('/Users/:id', async (req, reply) => {
    await users.delete(req.params.id, req.opCtx);
    return reply.code(204).send();
  });
}
