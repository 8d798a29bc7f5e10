/**
 * JSON Schemas written from RFC 7643 §5 (ServiceProviderConfig), §6 (ResourceType) and
 * §7 (Schema), with no property the RFC does not define: what a strict SCIM client
 * (pydantic models of RFC 7643, for one) accepts. `meta` per §3.1.
 */
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const int = { type: 'integer' } as const;
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', additionalProperties: false, properties, required });

const meta = closed({ resourceType: str, created: str, lastModified: str, location: str, version: str });
const supported = closed({ supported: bool }, ['supported']);

export const serviceProviderConfig = closed(
  {
    schemas: { type: 'array', items: { const: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig' }, minItems: 1 },
    documentationUri: str,
    patch: supported,
    bulk: closed({ supported: bool, maxOperations: int, maxPayloadSize: int }, ['supported', 'maxOperations', 'maxPayloadSize']),
    filter: closed({ supported: bool, maxResults: int }, ['supported', 'maxResults']),
    changePassword: supported,
    sort: supported,
    etag: supported,
    authenticationSchemes: {
      type: 'array',
      items: closed({ type: str, name: str, description: str, specUri: str, documentationUri: str, primary: bool }, ['type', 'name', 'description']),
    },
    meta,
  },
  ['schemas', 'patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag', 'authenticationSchemes'],
);

export const resourceType = closed(
  {
    schemas: { type: 'array', items: { const: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType' }, minItems: 1 },
    id: str,
    name: str,
    description: str,
    endpoint: str,
    schema: str,
    schemaExtensions: { type: 'array', items: closed({ schema: str, required: bool }, ['schema', 'required']) },
    meta,
  },
  ['schemas', 'name', 'endpoint', 'schema'],
);

const characteristics = {
  name: str,
  type: { enum: ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'] },
  multiValued: bool,
  description: str,
  required: bool,
  canonicalValues: { type: 'array' },
  caseExact: bool,
  mutability: { enum: ['readOnly', 'readWrite', 'immutable', 'writeOnly'] },
  returned: { enum: ['always', 'never', 'default', 'request'] },
  uniqueness: { enum: ['none', 'server', 'global'] },
  referenceTypes: { type: 'array', items: str },
};
const subAttribute = closed(characteristics, ['name', 'type']);
const attribute = closed({ ...characteristics, subAttributes: { type: 'array', items: subAttribute } }, ['name', 'type']);

export const schema = closed(
  {
    schemas: { type: 'array', items: { const: 'urn:ietf:params:scim:schemas:core:2.0:Schema' } },
    id: str,
    name: str,
    description: str,
    attributes: { type: 'array', items: attribute },
    meta,
  },
  ['id', 'attributes'],
);

export const listResponse = (item: unknown) =>
  closed(
    {
      schemas: { type: 'array', items: { const: 'urn:ietf:params:scim:api:messages:2.0:ListResponse' }, minItems: 1 },
      totalResults: { type: 'integer', minimum: 0 },
      startIndex: { type: 'integer', minimum: 1 },
      itemsPerPage: { type: 'integer', minimum: 0 },
      Resources: { type: 'array', items: item },
    },
    ['schemas', 'totalResults'],
  );
