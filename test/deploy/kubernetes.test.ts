import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { ENV_VARS, SECRET_VARS } from '../../src/config/schema.js';

/** kubectl's built-in kustomize renders the overlays offline; without kubectl, say so and skip. */
function kubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const HAVE_KUBECTL = kubectl();

const MODELS: Record<string, new (o: never) => { validate(): void }> = {
  Deployment,
  NetworkPolicy,
  PodDisruptionBudget,
  ConfigMap,
  PersistentVolumeClaim,
  Secret,
  Service,
} as never;

function render(overlay: string): Record<string, any>[] {
  const out = execFileSync('kubectl', ['kustomize', `deploy/kubernetes/overlays/${overlay}`], { cwd: new URL('../..', import.meta.url).pathname }).toString();
  return parseAllDocuments(out).map((d) => d.toJSON());
}

/** Every variable the bridge reads: its settings, their _FILE twins, and NODE_ENV. */
const KNOWN = new Set([...Object.keys(ENV_VARS), ...SECRET_VARS.map((v) => `${v}_FILE`), 'CONFIG_FILE']);

describe.skipIf(!HAVE_KUBECTL)(`Kubernetes manifests${HAVE_KUBECTL ? '' : ' (skipped: no kubectl here to render kustomize)'}`, () => {
  it.each(['sqlite', 'postgres'])('the %s overlay renders, and every object validates against the Kubernetes schemas', (overlay) => {
    const objects = render(overlay);
    expect(objects.map((o) => o.kind).sort()).toEqual(
      expect.arrayContaining(['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service']),
    );
    for (const o of objects) {
      const Model = MODELS[o.kind];
      expect(Model, `a model for ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it.each(['sqlite', 'postgres'])(
    'the %s Deployment probes /healthz and /readyz, runs non-root on a read-only root, takes secrets as files, and reads only variables the bridge knows',
    (overlay) => {
      const objects = render(overlay);
      const deploy = objects.find((o) => o.kind === 'Deployment')!;
      const pod = deploy.spec.template.spec;
      const c = pod.containers[0];
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      expect(c.resources.limits.memory).toBeDefined();
      const env: string[] = c.env.map((e: { name: string }) => e.name);
      expect(env.filter((n) => !KNOWN.has(n))).toEqual([]);
      expect(env).toEqual(expect.arrayContaining(['FULLSTORY_SCIM_TOKEN_FILE', 'IDP_TOKENS_FILE']));
      expect(env.filter((n) => (SECRET_VARS as readonly string[]).includes(n))).toEqual([]);
      const secret = objects.find((o) => o.kind === 'Secret')!;
      const mounted = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret)?.secret.secretName;
      expect(mounted).toBe(secret.metadata.name);
      const egressPorts = objects
        .find((o) => o.kind === 'NetworkPolicy')!
        .spec.egress.flatMap((e: { ports: { port: number }[] }) => e.ports.map((p) => p.port));
      expect(egressPorts).toContain(443);
      if (overlay === 'postgres') {
        expect(deploy.spec.replicas).toBeGreaterThan(1);
        expect(env).toContain('DATABASE_URL_FILE');
        expect(egressPorts).toContain(5432);
      } else {
        expect(deploy.spec.replicas).toBe(1);
        expect(deploy.spec.strategy.type).toBe('Recreate');
        expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(true);
      }
    },
  );
});
