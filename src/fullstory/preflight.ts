import { randomUUID } from 'node:crypto';
import type { FullStoryClient } from './client.js';
import { UpstreamError } from './errors.js';

/** What FullStory turned out to support, learned at startup rather than assumed. */
export interface Capabilities {
  discovery: boolean;
  patchUsers: boolean;
  deleteUsers: boolean;
  groups: boolean;
  /** Filter attributes FullStory runs itself (lower case): always userName. */
  filters: Set<string>;
}

export interface Check {
  name: string;
  ok: boolean;
  message: string;
}

export interface PreflightResult {
  ok: boolean;
  checks: Check[];
  capabilities?: Capabilities;
}

const SETTINGS_PATH = 'Settings > Account Management > SSO > Account Provisioning > SCIM Provisioning';

/** Plain-language diagnoses, one per way FullStory can be unusable. Tested word for word in part. */
export const DIAGNOSIS = {
  dns: (host: string) =>
    `Cannot resolve ${host}. Check FULLSTORY_SCIM_URL (https://api.fullstory.com/scim/v2, or https://api.eu1.fullstory.com/scim/v2 for EU data) and this host's DNS.`,
  tls: (detail: string) => `TLS to FullStory failed (${detail}). A proxy intercepting HTTPS needs its CA trusted (NODE_EXTRA_CA_CERTS).`,
  timeout: (url: string) => `FullStory at ${url} did not answer in time. Check egress from this host (firewall, proxy) to FullStory.`,
  network: (detail: string) => `Cannot reach FullStory: ${detail}. Check FULLSTORY_SCIM_URL and egress from this host.`,
  unauthorized: () =>
    `FullStory refused the SCIM token (401). Either the token is wrong, or it was regenerated (a new token revokes the old one): generate one in FullStory under ${SETTINGS_PATH} and set FULLSTORY_SCIM_TOKEN. ` +
    `If the token is fresh, SCIM may not be enabled for the account: it needs the Enterprise (or Data Direct) plan and SAML SSO configured first.`,
  notEnabled: () =>
    `FullStory accepted the token but SCIM provisioning is not enabled for this account (403). It needs the Enterprise (or Data Direct) plan, an Admin, and SAML SSO configured first (Settings > Account Management > SSO); then enable it under ${SETTINGS_PATH}.`,
  notFound: (url: string) =>
    `FullStory answered 404 for ${url}/Users: the base URL is wrong. Use https://api.fullstory.com/scim/v2 (US) or https://api.eu1.fullstory.com/scim/v2 (EU).`,
  upstream: (status: number, detail: string) => `FullStory answered ${status} (${detail}). It may be having trouble; the bridge will retry.`,
  roleGroupsUnsupported: () =>
    'roles.delivery is "role-groups" but FullStory has no /Groups endpoint for this account. Set roles.delivery to "roles-attribute" (ROLE_DELIVERY).',
};

function diagnose(err: unknown, baseUrl: string): string {
  if (!(err instanceof UpstreamError)) return DIAGNOSIS.network((err as Error).message);
  if (err.status === 401) return DIAGNOSIS.unauthorized();
  if (err.status === 403) return DIAGNOSIS.notEnabled();
  if (err.status === 404) return DIAGNOSIS.notFound(baseUrl);
  if (err.kind === 'timeout') return DIAGNOSIS.timeout(baseUrl);
  if (err.kind === 'network') {
    if (/resolved/.test(err.detail)) return DIAGNOSIS.dns(new URL(baseUrl).host);
    if (/TLS/.test(err.detail)) return DIAGNOSIS.tls(err.detail);
    return DIAGNOSIS.network(err.detail);
  }
  return DIAGNOSIS.upstream(err.status, err.detail);
}

async function statusOf(run: () => Promise<unknown>): Promise<number> {
  try {
    await run();
    return 200;
  } catch (err) {
    if (err instanceof UpstreamError && err.kind === 'http') return err.status;
    throw err;
  }
}

/**
 * Reaches FullStory, authenticates, and learns what it supports, changing nothing:
 * behaviour probes touch only an id that cannot exist.
 */
export async function preflight(client: FullStoryClient, opts: { needGroups: boolean }): Promise<PreflightResult> {
  const checks: Check[] = [];
  const call = (method: string, path: string, body?: unknown) =>
    // Startup may wait for budget longer than an IdP would.
    client.call(method, path, { operation: 'preflight', idempotent: method !== 'POST', maxWaitMs: 120_000, ...(body !== undefined ? { body } : {}) });

  let spc: Record<string, unknown> | undefined;
  try {
    spc = (await call('GET', '/ServiceProviderConfig')).body as Record<string, unknown>;
  } catch (err) {
    const absent = err instanceof UpstreamError && err.status === 404;
    if (!absent) {
      const refused = err instanceof UpstreamError && (err.status === 401 || err.status === 403);
      checks.push({ name: refused ? 'authenticate' : 'reach', ok: false, message: diagnose(err, client.baseUrl) });
      return { ok: false, checks };
    }
  }
  try {
    await call('GET', '/Users?startIndex=1&count=1');
  } catch (err) {
    checks.push({ name: 'authenticate', ok: false, message: diagnose(err, client.baseUrl) });
    return { ok: false, checks };
  }
  checks.push({ name: 'reach', ok: true, message: `FullStory answered at ${client.baseUrl}` });
  checks.push({ name: 'authenticate', ok: true, message: 'The SCIM token is accepted and SCIM is enabled' });

  const ghost = `bridge-probe-${randomUUID()}`;
  const patchDeclared = (spc?.patch as { supported?: unknown } | undefined)?.supported;
  const patchUsers =
    typeof patchDeclared === 'boolean'
      ? patchDeclared
      : (await statusOf(() =>
          call('PATCH', `/Users/${ghost}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'replace', path: 'active', value: true }],
          }),
        )) !== 405;
  const deleteUsers = (await statusOf(() => call('DELETE', `/Users/${ghost}`))) !== 405;
  const groups = (await statusOf(() => call('GET', '/Groups?startIndex=1&count=1'))) === 200;
  const filters = new Set(['username']);
  for (const [attr, expr] of [
    ['externalid', `externalId eq "${ghost}"`],
    ['emails.value', `emails.value eq "${ghost}@probe.invalid"`],
  ] as const) {
    if ((await statusOf(() => call('GET', `/Users?startIndex=1&count=1&filter=${encodeURIComponent(expr)}`))) === 200) filters.add(attr);
  }
  const capabilities: Capabilities = { discovery: spc !== undefined, patchUsers, deleteUsers, groups, filters };
  checks.push({
    name: 'capabilities',
    ok: true,
    message:
      `PATCH /Users: ${patchUsers ? 'yes' : 'no (the bridge reads, applies and PUTs)'}; ` +
      `DELETE /Users: ${deleteUsers ? 'yes' : 'no (the bridge deactivates instead)'}; ` +
      `/Groups: ${groups ? 'yes' : 'no'}; filters: ${[...filters].join(', ')}`,
  });
  if (opts.needGroups && !groups) {
    checks.push({ name: 'role-delivery', ok: false, message: DIAGNOSIS.roleGroupsUnsupported() });
    return { ok: false, checks, capabilities };
  }
  return { ok: true, checks, capabilities };
}
