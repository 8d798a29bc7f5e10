import type { UpstreamError } from '../fullstory/errors.js';
import { ScimError, type ScimType } from '../scim/errors.js';

const SCIM_TYPES = new Set(['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue']);

/**
 * FullStory's failure as the IdP should see it: FullStory's 4xx keep their meaning;
 * trouble between the bridge and FullStory is a 502/503 with Retry-After, never a 401
 * (the IdP's own token was fine, and a 401 would send its admin the wrong way).
 */
export function upstreamToScim(err: UpstreamError): ScimError {
  const scimType = err.scimType && SCIM_TYPES.has(err.scimType) ? (err.scimType as ScimType) : undefined;
  switch (true) {
    case err.kind === 'budget':
      return new ScimError(err.status === 503 ? 503 : 429, err.detail, undefined, err.retryAfter ?? 1);
    case err.kind === 'pending':
      return new ScimError(503, err.detail, undefined, err.retryAfter ?? 300);
    case err.kind === 'circuit':
      return new ScimError(503, err.detail, undefined, err.retryAfter ?? 30);
    case err.status === 0:
      return new ScimError(503, `FullStory could not be reached: ${err.detail}`, undefined, 30);
    case err.status === 401:
      return new ScimError(503, "FullStory refused the bridge's own token; the bridge's operator must set a valid FULLSTORY_SCIM_TOKEN", undefined, 300);
    case err.status === 429:
      return new ScimError(429, 'FullStory rate limit reached', undefined, err.retryAfter ?? 1);
    case err.status === 404:
      return new ScimError(404, 'Resource not found in FullStory');
    case err.status === 409:
      return new ScimError(409, err.detail, 'uniqueness');
    case err.status === 403:
      return new ScimError(403, `FullStory refused the change: ${err.detail}`);
    case err.status >= 400 && err.status < 500:
      return new ScimError(400, `FullStory rejected the change: ${err.detail}`, scimType ?? 'invalidValue');
    default:
      return new ScimError(502, `FullStory failed (HTTP ${err.status}); try again`, undefined, 10);
  }
}
