import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBridge, type TestBridge } from '../helpers/bridge.js';
import { listResponse, resourceType, schema, serviceProviderConfig } from './rfc7643/schemas.js';

const ajv = new Ajv({ allErrors: true, strict: true });

describe.each(['live', 'shadow'] as const)('discovery holds only what RFC 7643 §5–7 define, so a strict client can start (%s mode)', (mode) => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge({ config: { bridge: { mode } } });
  });
  afterAll(async () => t?.close());

  it.each([
    ['/ServiceProviderConfig', serviceProviderConfig],
    ['/ResourceTypes', listResponse(resourceType)],
    ['/ResourceTypes/User', resourceType],
    ['/Schemas', listResponse(schema)],
    ['/Schemas/urn:ietf:params:scim:schemas:core:2.0:User', schema],
    ['/Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', schema],
    ['/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group', schema],
  ])('%s validates against a closed schema of the RFC', async (path, jsonSchema) => {
    const res = await t.req('GET', `/scim/v2${path}`);
    expect(res.status).toBe(200);
    const validate = ajv.compile(jsonSchema);
    expect(validate(res.body) ? [] : validate.errors).toEqual([]);
  });

  it('the closed schemas do refuse what scimmy used to leak (an attribute with its internal config)', () => {
    const leaky = { id: 'x', attributes: [{ name: 'active', type: 'boolean', config: { shadow: false, direction: 'both' } }] };
    expect(ajv.compile(schema)(leaky)).toBe(false);
  });
});
