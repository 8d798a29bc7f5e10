import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../src/fullstory/errors.js';
import { upstreamToScim } from '../../src/provisioning/upstream-errors.js';

const seen = (err: UpstreamError) => {
  const s = upstreamToScim(err);
  return { status: s.status, scimType: s.scimType, retryAfter: s.retryAfter };
};

describe("upstreamToScim: FullStory's failure as the IdP should see it", () => {
  it("FullStory's 4xx keep their meaning", () => {
    expect(seen(new UpstreamError(409, 'exists', 'http', 'uniqueness'))).toMatchObject({ status: 409, scimType: 'uniqueness' });
    expect(seen(new UpstreamError(400, 'bad role', 'http', 'invalidValue'))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(seen(new UpstreamError(400, 'odd', 'http', 'notAScimType'))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(seen(new UpstreamError(404, 'gone', 'http'))).toMatchObject({ status: 404 });
  });

  it("the bridge's own trouble with FullStory is never a 401 to the IdP, and always says when to come back", () => {
    expect(seen(new UpstreamError(401, 'token', 'http'))).toMatchObject({ status: 503, retryAfter: 300 });
    expect(seen(new UpstreamError(0, 'reset', 'network'))).toMatchObject({ status: 503, retryAfter: 30 });
    expect(seen(new UpstreamError(429, 'slow down', 'http', undefined, 7))).toMatchObject({ status: 429, retryAfter: 7 });
    expect(seen(new UpstreamError(503, 'budget', 'budget', undefined, 2))).toMatchObject({ status: 503, retryAfter: 2 });
    expect(seen(new UpstreamError(500, 'boom', 'http'))).toMatchObject({ status: 502, retryAfter: 10 });
  });
});
