import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import app from '../../src/app.js';
import { startTestBridge, type TestBridge } from '../helpers/bridge.js';

const text = readFileSync(new URL('../../openapi/openapi.yaml', import.meta.url), 'utf8');
const doc = parse(text) as { paths: Record<string, Record<string, unknown>> };
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('openapi/openapi.yaml', () => {
  let t: TestBridge;
  beforeAll(async () => {
    t = await startTestBridge();
  });
  afterAll(async () => t?.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(text);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes exactly the routes the bridge serves', async () => {
    const live = new Set<string>();
    const f = Fastify();
    f.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD' && m !== 'OPTIONS') live.add(`${m.toLowerCase()} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    });
    await f.register(app, { deps: t.bridge.deps });
    await f.ready();
    await f.close();
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((k) => METHODS.includes(k))
          .map((m) => `${m} ${path}`),
      ),
    );
    expect([...live].sort()).toEqual([...documented].sort());
  });
});
