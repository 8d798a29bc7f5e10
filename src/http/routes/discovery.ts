import type { FastifyInstance } from 'fastify';
import SCIMMY from 'scimmy';
import { MAX_PAGE, SCHEMA } from '../../scim/constants.js';
import { ScimError } from '../../scim/errors.js';
import { baseUrl, listResponse, sendScim } from '../present.js';

type Json = Record<string, unknown>;

/** What `active` means here (RFC 7643 leaves it to the service provider). */
const ACTIVE = 'Whether the user may sign in to FullStory. Absent (never given, or removed) means active: FullStory has no teammate without a status.';

/** RFC 7643 schema definitions, rendered by scimmy; locations made absolute. */
function schemaDocs(base: string): Json[] {
  return [SCIMMY.Schemas.User, SCIMMY.Schemas.EnterpriseUser, SCIMMY.Schemas.Group].map((s) => {
    // scimmy's attributes are class instances whose toJSON is what RFC 7643 §7 defines; a
    // spread would copy their internals (`config`) instead, which strict clients refuse.
    const described = JSON.parse(JSON.stringify(s.definition.describe('/Schemas'))) as Json;
    const attributes = ((described.attributes ?? []) as Json[]).map((a) => (a.name === 'active' ? { ...a, description: ACTIVE } : a));
    const d: Json = { ...described, attributes };
    return { ...d, meta: { resourceType: 'Schema', location: `${base}/Schemas/${d.id as string}` } };
  });
}

/**
 * Discovery that tells the truth about the bridge: PATCH yes, the whole filter grammar
 * with maxResults, sorting (and POST /.search), no bulk, no change-password, ETags
 * (meta.version as a weak ETag; If-Match on changes, If-None-Match on reads).
 */
export default async function discoveryRoutes(app: FastifyInstance) {
  const banner = app.deps.banner ? ` ${app.deps.banner}` : '';

  app.get('/ServiceProviderConfig', async (req, reply) => {
    const base = baseUrl(req);
    return sendScim(reply, {
      schemas: [SCHEMA.serviceProviderConfig],
      documentationUri: 'https://github.com/fullstory-scim-bridge/fullstory-scim-bridge#readme',
      patch: { supported: true },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: true, maxResults: MAX_PAGE },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'OAuth Bearer Token',
          description: `Bearer token issued by the bridge's operator.${banner}`,
          primary: true,
        },
      ],
      meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
    });
  });

  const resourceTypes = (base: string): Json[] => [
    {
      schemas: [SCHEMA.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: `FullStory teammates, provisioned through the bridge.${banner}`,
      schema: SCHEMA.user,
      schemaExtensions: [{ schema: SCHEMA.enterprise, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [SCHEMA.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: `IdP groups, kept by the bridge and mapped to FullStory roles.${banner}`,
      schema: SCHEMA.group,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];

  app.get('/ResourceTypes', async (req, reply) => {
    const types = resourceTypes(baseUrl(req));
    return sendScim(reply, listResponse(types as never, types.length, 1));
  });
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', async (req, reply) => {
    const t = resourceTypes(baseUrl(req)).find((r) => (r.id as string).toLowerCase() === req.params.id.toLowerCase());
    if (!t) throw new ScimError(404, `No resource type ${req.params.id}`);
    return sendScim(reply, t as never);
  });

  app.get('/Schemas', async (req, reply) => {
    const docs = schemaDocs(baseUrl(req));
    return sendScim(reply, listResponse(docs as never, docs.length, 1));
  });
  app.get<{ Params: { id: string } }>('/Schemas/:id', async (req, reply) => {
    const d = schemaDocs(baseUrl(req)).find((s) => (s.id as string).toLowerCase() === req.params.id.toLowerCase());
    if (!d) throw new ScimError(404, `No schema ${req.params.id}`);
    return sendScim(reply, d as never);
  });
}
