import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startTestBridge, U, type TestBridge } from '../helpers/bridge.js';

const root = new URL('../..', import.meta.url);
const alerts = parse(readFileSync(new URL('deploy/monitoring/alerts.yaml', root), 'utf8')) as {
  groups: { rules: { alert: string; expr: string; annotations: { runbook: string } }[] }[];
};
const dashboard = JSON.parse(readFileSync(new URL('deploy/monitoring/grafana-dashboard.json', root), 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[];
};
const runbook = readFileSync(new URL('docs/operations.md', root), 'utf8');
const rules = alerts.groups.flatMap((g) => g.rules);

/** The bridge's own metric names an expression uses, histogram series folded to their family. */
const namesIn = (expr: string) => [...expr.matchAll(/\bscim_bridge_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

describe('monitoring as files', () => {
  let t: TestBridge;
  let families: Set<string>;
  beforeAll(async () => {
    t = await startTestBridge();
    await t.req('GET', U);
    const text = (await t.bridge.app.inject({ method: 'GET', url: '/metrics' })).body;
    families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  });
  afterAll(async () => t?.close());

  it('every metric the dashboard and the alerts name is one a live bridge exports', () => {
    const used = new Set([...rules.map((r) => r.expr), ...dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr))].flatMap(namesIn));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((n) => !families.has(n))).toEqual([]);
  });

  it('the dashboard covers IdP traffic, FullStory calls and 429s, the circuit, role sync and the guard', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((x) => x.expr)).join('\n');
    for (const m of [
      'scim_bridge_requests_total',
      'scim_bridge_request_duration_seconds_bucket',
      'scim_bridge_upstream_calls_total',
      'status=~"429',
      'scim_bridge_circuit_open',
      'scim_bridge_role_sync_backlog',
      'scim_bridge_role_sync_failing',
      'scim_bridge_role_sync_oldest_pending_seconds',
      'scim_bridge_guard_holds',
    ]) {
      expect(exprs).toContain(m);
    }
  });

  it('each alert has a runbook line in docs/operations.md', () => {
    for (const r of rules) {
      expect(r.annotations.runbook).toBe(`docs/operations.md: Alerts > ${r.alert}`);
      expect(runbook, r.alert).toMatch(new RegExp(`^- \\*\\*${r.alert}\\*\\*: .+`, 'm'));
    }
  });
});
