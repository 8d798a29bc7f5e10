/** A FullStory call that did not succeed, in FullStory's terms (never carries the token). */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  constructor(
    /** HTTP status from FullStory; 0 when no answer came (network, timeout). */
    readonly status: number,
    readonly detail: string,
    readonly kind: 'http' | 'network' | 'timeout' | 'budget' | 'circuit' | 'pending',
    readonly scimType?: string,
    /** Seconds FullStory (or the budget) asks to wait. */
    readonly retryAfter?: number,
  ) {
    super(detail);
  }

  /** Worth another try later: FullStory did not say the request itself was wrong. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

/**
 * Reads either error format FullStory may use: RFC 7644 (`detail`, `scimType`) or its
 * v2 API style (`message`, `code`).
 */
export function parseUpstreamError(status: number, body: unknown): { detail: string; scimType?: string } {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const detail = typeof b.detail === 'string' ? b.detail : typeof b.message === 'string' ? b.message : undefined;
    const scimType = typeof b.scimType === 'string' ? b.scimType : codeToScimType(b.code);
    if (detail) return { detail, ...(scimType ? { scimType } : {}) };
  }
  return { detail: `FullStory answered HTTP ${status}` };
}

function codeToScimType(code: unknown): string | undefined {
  switch (code) {
    case 'already_exists':
      return 'uniqueness';
    case 'invalid_argument':
      return 'invalidValue';
    default:
      return undefined;
  }
}

export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const seconds = Number(v);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
