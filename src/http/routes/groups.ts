import type { FastifyInstance } from 'fastify';
import { asksForMembers, baseUrl, listResponse, project, renderGroup, sendResource, sendScim, wantsMembers } from '../present.js';
import { etagOf, notModified } from '../etag.js';
import { listQuery, scimQuery, searchQuery, type ScimQuery } from '../query.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

type IdParams = { Params: { id: string } };

/** /Groups: held by the bridge; PATCH answers 200 with the group, members only when `attributes` names them. */
export default async function groupsRoutes(app: FastifyInstance) {
  const { groups } = app.deps;

  const list = async (req: FastifyRequest, reply: FastifyReply, q: ScimQuery) => {
    const page = await groups.list(listQuery(q), wantsMembers(q.attributes, q.excludedAttributes));
    const base = baseUrl(req);
    const resources = page.views.map((v) => project(renderGroup(v, base), q.attributes, q.excludedAttributes));
    return sendScim(reply, listResponse(resources, page.total, page.startIndex));
  };
  app.get('/Groups', (req, reply) => list(req, reply, scimQuery(req)));
  app.post('/Groups/.search', (req, reply) => list(req, reply, searchQuery(req.body)));

  app.get<IdParams>('/Groups/:id', async (req, reply) => {
    const q = scimQuery(req);
    const view = await groups.get(req.params.id, wantsMembers(q.attributes, q.excludedAttributes));
    if (notModified(req, view.version)) return reply.code(304).header('etag', etagOf(view.version)).send();
    return sendResource(reply, renderGroup(view, baseUrl(req)), q);
  });

  // A write answers with the resource, projected as a GET would be (RFC 7644 §3.9).
  app.post('/Groups', async (req, reply) => {
    const q = scimQuery(req);
    const view = await groups.create(req.body, req.opCtx);
    req.resourceId = view.id;
    return sendResource(reply, renderGroup(view, baseUrl(req)), q, 201);
  });

  app.put<IdParams>('/Groups/:id', async (req, reply) => {
    const q = scimQuery(req);
    // A replace of 100,000 members need not build them again for an answer that leaves them out.
    const view = await groups.replace(req.params.id, req.body, req.opCtx, wantsMembers(q.attributes, q.excludedAttributes));
    return sendResource(reply, renderGroup(view, baseUrl(req)), q);
  });

  app.patch<IdParams>('/Groups/:id', async (req, reply) => {
    const q = scimQuery(req);
    const view = await groups.patch(req.params.id, req.body, req.opCtx, asksForMembers(q.attributes));
    return sendResource(reply, renderGroup(view, baseUrl(req)), q);
  });

  app.delete<IdParams>('/Groups/:id', async (req, reply) => {
    await groups.delete(req.params.id, req.opCtx);
    return reply.code(204).send();
  });
}
