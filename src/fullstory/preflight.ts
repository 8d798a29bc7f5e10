import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from '../config/roles.js';
import type { FsGroup, FsList, FsUser } from './api.js';
import { pages } from './api.js';
import type { FullStoryClient } from './client.js';
import { UpstreamError } from './errors.js';
import { contradiction, decideDelivery, type DeliverySetting, type RoleEvidence } from './roles/channel.js';
import { describeCapabilities, type Capabilities } from './capabilities.js';
import { MODES } from './roles/modes.js';
import { decodeRoles, ROLE_NAME } from './roles/wire.js';

// Declared beside its words (capabilities.ts); named here too, where the probe learns it.
export type { Capabilities } from './capabilities.js';

/** The page the bridge asks FullStory for (FullStory's documented largest). */
const MAX_PAGE = 100;

export interface Check {
  name: string;
  ok: boolean;
  /** Usable, but something an operator should change. */
  warn?: boolean;
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
  roleGroupsUnsupported: (setting: string) =>
    `roles.delivery is "${setting}" but FullStory has no /Groups endpoint for this account. Set roles.delivery to "roles-attribute", "sso" or "auto" (ROLE_DELIVERY).`,
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

type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/**
 * Reaches FullStory, authenticates, and learns what it supports, changing nothing:
 * behaviour probes touch only an id that cannot exist, and reads.
 */
export async function preflight(client: FullStoryClient, opts: { delivery: DeliverySetting }): Promise<PreflightResult> {
  const checks: Check[] = [];
  const call: Call = (method, path, body) =>
    // Startup may wait for budget longer than an IdP would.
    client.call(method, path, { operation: 'preflight', idempotent: method !== 'POST', maxWaitMs: 120_000, ...(body !== undefined ? { body } : {}) });

  let spc: Record<string, unknown> | undefined;
  let firstPage: FsList<FsUser>;
  try {
    spc = await serviceProviderConfig(call);
    firstPage = (await call('GET', `/Users?startIndex=1&count=${MAX_PAGE}`)).body as FsList<FsUser>;
  } catch (err) {
    const refused = err instanceof UpstreamError && (err.status === 401 || err.status === 403);
    checks.push({ name: refused || spc !== undefined ? 'authenticate' : 'reach', ok: false, message: diagnose(err, client.baseUrl) });
    return { ok: false, checks };
  }
  checks.push({ name: 'reach', ok: true, message: `FullStory answered at ${client.baseUrl}` });
  checks.push({ name: 'authenticate', ok: true, message: 'The SCIM token is accepted and SCIM is enabled' });

  const capabilities = { ...(await probeOperations(call, spc)), ...(await probeGroups(call)), ...learnFromUsers(firstPage, spc) };
  checks.push(...describe(capabilities));
  const choice = decideDelivery(opts.delivery, evidenceOf(capabilities));
  if ((opts.delivery === 'role-groups' || opts.delivery === 'groups-passthrough') && !capabilities.groups) {
    checks.push({ name: 'role-delivery', ok: false, message: DIAGNOSIS.roleGroupsUnsupported(opts.delivery) });
    return { ok: false, checks, capabilities };
  }
  const warning = contradiction(opts.delivery, evidenceOf(capabilities));
  checks.push({
    name: 'role-delivery',
    ok: true,
    ...(warning ? { warn: true } : {}),
    message: warning ?? (choice.delivery ? `roles travel as ${MODES[choice.delivery].label}: ${choice.why}` : `undecided: ${choice.why}`),
  });
  const confirm = choice.delivery && MODES[choice.delivery].confirm;
  if (confirm) checks.push({ name: 'role-verification', ok: true, message: `verification: ${MODES[choice.delivery!].verification}; ${confirm}` });
  return { ok: true, checks, capabilities };
}

/** Discovery, where FullStory serves it (its absence is fine). */
async function serviceProviderConfig(call: Call): Promise<Record<string, unknown> | undefined> {
  try {
    return (await call('GET', '/ServiceProviderConfig')).body as Record<string, unknown>;
  } catch (err) {
    if (err instanceof UpstreamError && err.status === 404) return undefined;
    throw err;
  }
}

/** PATCH, DELETE and the user filters, each tried on an id or value that cannot exist. */
async function probeOperations(call: Call, spc: Record<string, unknown> | undefined) {
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
  const filters = new Set(['username']);
  for (const [attr, expr] of [
    ['externalid', `externalId eq "${ghost}"`],
    ['emails.value', `emails.value eq "${ghost}@probe.invalid"`],
  ] as const) {
    if ((await statusOf(() => call('GET', `/Users?startIndex=1&count=1&filter=${encodeURIComponent(expr)}`))) === 200) filters.add(attr);
  }
  return { discovery: spc !== undefined, patchUsers, deleteUsers, filters };
}

/** /Groups: whether it exists, whether it filters, and the role groups it already holds. */
async function probeGroups(call: Call): Promise<Pick<Capabilities, 'groups' | 'groupFilters' | 'roleGroups'>> {
  const roleGroups = new Map<Role, string>();
  const first = await statusOf(() => call('GET', '/Groups?startIndex=1&count=1'));
  if (first !== 200) return { groups: false, groupFilters: false, roleGroups };
  const filter = encodeURIComponent(`displayName eq "${ROLE_NAME.admin}"`);
  const groupFilters = (await statusOf(() => call('GET', `/Groups?startIndex=1&count=1&filter=${filter}`))) === 200;
  for await (const g of pages<FsGroup>((start) => call('GET', `/Groups?startIndex=${start}&count=${MAX_PAGE}`).then((r) => r.body as FsList<FsGroup>))) {
    const role = roleOfGroupName(g.displayName);
    if (role && !roleGroups.has(role)) roleGroups.set(role, g.id);
  }
  return { groups: true, groupFilters, roleGroups };
}

/** The first page of users: whether they carry `roles`, its form, and how large a page FullStory serves. */
function learnFromUsers(page: FsList<FsUser>, spc: Record<string, unknown> | undefined): Pick<Capabilities, 'maxPage' | 'usersRoles'> {
  const usersRoles: Capabilities['usersRoles'] = { shown: 0, absent: 0 };
  for (const u of page.Resources ?? []) {
    const r = decodeRoles(u.roles);
    if (r.kind === 'role') {
      usersRoles.shown++;
      usersRoles.form = r.form;
    } else if (r.kind === 'absent') usersRoles.absent++;
  }
  const declared = Number((spc?.filter as { maxResults?: unknown } | undefined)?.maxResults);
  const got = page.Resources?.length ?? 0;
  // A page shorter than asked while more remain is FullStory's largest page.
  const seen = got > 0 && got < MAX_PAGE && page.totalResults > got ? got : MAX_PAGE;
  const maxPage = Math.min(seen, Number.isInteger(declared) && declared > 0 ? declared : MAX_PAGE);
  return { maxPage, usersRoles };
}

export function evidenceOf(c: Capabilities): Omit<RoleEvidence, 'dropped'> & { dropped: false } {
  return {
    groups: c.groups,
    rolesShown: c.usersRoles.shown,
    rolesAbsent: c.usersRoles.absent,
    ...(c.usersRoles.form ? { form: c.usersRoles.form } : {}),
    roleGroups: [...c.roleGroups.keys()],
    dropped: false,
  };
}

/** One line per finding, as `check` prints them. */
function describe(c: Capabilities): Check[] {
  return describeCapabilities(c).map(({ name, message }) => ({ name, ok: true, message }));
}

const roleOfGroupName = (name: unknown): Role | undefined =>
  typeof name === 'string' ? ROLES.find((r) => ROLE_NAME[r].toLowerCase() === name.toLowerCase()) : undefined;
