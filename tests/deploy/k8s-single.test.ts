// deploy/k8s/single (one replica, no Redis) on deploy/k8s/base: every manifest parses, and the
// Deployment has what a single-writer SQLite service needs (one replica, Recreate, PVC), probes on
// /healthz, a Secret and ConfigMaps wired in, and a locked-down security context. kustomize renders
// it when kubectl is installed. The default deploy/k8s (two replicas with Redis): k8s.test.ts.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { configSchema, loadConfig } from '../../src/config/config.ts';
import { parseSystemMap } from '../../src/map/system-map.ts';
import { have, repoRoot } from './support.ts';

const top = join(repoRoot, 'deploy/k8s');
const dir = join(top, 'single');
const base = join(top, 'base');
// `kubectl kustomize` with kustomize 4 or newer (older ones, like Debian's kubectl 1.20, lack
// the `labels:` field).
const kustomizeMajor = have('kubectl')
  ? Number(
      /Kustomize Version: v(\d+)/.exec(
        Bun.spawnSync(['kubectl', 'version', '--client']).stdout.toString(),
      )?.[1] ?? 0,
    )
  : 0;
const hasKustomize = kustomizeMajor >= 4;
if (!hasKustomize) console.warn('SKIP kustomize render check: needs kubectl with kustomize v4 or newer');
// Paths relative to deploy/k8s: the overlay, the base it builds on, and the example Secret.
const yamlFiles = [
  ...readdirSync(dir).map((f) => `single/${f}`),
  ...readdirSync(base).map((f) => `base/${f}`),
  'secret.example.yaml',
].filter((f) => f.endsWith('.yaml'));

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field below.
type Doc = any;
const docsOf = (file: string): Doc[] => loadAll(readFileSync(join(top, file), 'utf8')) as Doc[];
const manifests = yamlFiles
  .filter((f) => !f.endsWith('/kustomization.yaml') && f !== 'base/system-map.yaml')
  .flatMap((f) => docsOf(f).map((doc) => ({ file: f, doc })));
const byKind = (kind: string) => manifests.filter((m) => m.doc?.kind === kind).map((m) => m.doc);

const deployment = byKind('Deployment')[0];
const pod = deployment?.spec?.template?.spec;
const container = pod?.containers?.[0];

describe('deploy/k8s/single', () => {
  test('every YAML file parses and every manifest names its kind, apiVersion and name', () => {
    expect(yamlFiles.length).toBeGreaterThanOrEqual(8);
    for (const { file, doc } of manifests) {
      expect({
        file,
        apiVersion: typeof doc.apiVersion,
        kind: typeof doc.kind,
        name: typeof doc.metadata?.name,
      }).toEqual({ file, apiVersion: 'string', kind: 'string', name: 'string' });
    }
  });

  test('runs one replica with Recreate, so two pods never write the same SQLite database', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'tracepulse' });
    expect(deployment.spec.template.metadata.labels['app.kubernetes.io/name']).toBe('tracepulse');
  });

  test('probes /healthz on the named http port (startup, readiness, liveness)', () => {
    expect(container.ports).toContainEqual({ name: 'http', containerPort: 3000, protocol: 'TCP' });
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(container[probe]?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(container[probe].timeoutSeconds).toBeGreaterThan(0);
    }
    // The startup probe allows a slow start (ARM64 nodes) before liveness can kill the pod.
    expect(
      container.startupProbe.periodSeconds * container.startupProbe.failureThreshold,
    ).toBeGreaterThanOrEqual(60);
  });

  test('keeps data on the PVC, the system map from a ConfigMap, and /tmp in memory', () => {
    const mounts = Object.fromEntries(container.volumeMounts.map((m: Doc) => [m.name, m]));
    const volumes = Object.fromEntries(pod.volumes.map((v: Doc) => [v.name, v]));
    const pvc = byKind('PersistentVolumeClaim')[0];
    expect(mounts.data.mountPath).toBe('/var/lib/tracepulse');
    expect(volumes.data.persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(mounts['system-map']).toMatchObject({ mountPath: '/etc/tracepulse/map', readOnly: true });
    expect(volumes['system-map'].configMap.name).toBe('tracepulse-system-map');
    expect(mounts.tmp.mountPath).toBe('/tmp');
    expect(volumes.tmp.emptyDir.medium).toBe('Memory');

    const env = Object.fromEntries(container.env.map((e: Doc) => [e.name, e.value]));
    expect(env.TRACEPULSE_DATA_DIR).toBe('/var/lib/tracepulse');
    expect(env.TRACEPULSE_SYSTEM_MAP).toBe('/etc/tracepulse/map/system-map.yaml');
    expect(env.TRACEPULSE_PORT).toBe('3000');
  });

  test('takes tokens from a Secret and settings from a ConfigMap via envFrom', () => {
    const secretName = byKind('Secret')[0]?.metadata.name;
    const settingsName = byKind('ConfigMap').find((c) => c.metadata.name === 'tracepulse-settings')?.metadata
      .name;
    expect(container.envFrom).toEqual([
      { configMapRef: { name: settingsName } },
      { secretRef: { name: secretName } },
    ]);
    // Only TRACEPULSE_* and other environment-variable names as keys.
    for (const key of Object.keys(byKind('Secret')[0].stringData)) expect(key).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  test('the settings ConfigMap, the example Secret and the pod env form a valid configuration', () => {
    const settings = byKind('ConfigMap').find((c) => c.metadata.name === 'tracepulse-settings').data;
    const secret = byKind('Secret')[0].stringData;
    const env = Object.fromEntries(container.env.map((e: Doc) => [e.name, e.value]));
    const all = { ...settings, ...secret, ...env };
    const known = Object.keys(configSchema.shape);
    expect(Object.keys(all).filter((k) => !known.includes(k))).toEqual([]);
    expect(() => loadConfig(all)).not.toThrow();
  });

  test('runs non-root with a read-only root filesystem, no capabilities and bounded resources', () => {
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      fsGroup: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    // Service links would inject TRACEPULSE_PORT=tcp://... for the Service named tracepulse.
    expect(pod.enableServiceLinks).toBe(false);
    expect(container.resources.requests).toMatchObject({
      cpu: expect.any(String),
      memory: expect.any(String),
    });
    expect(container.resources.limits.memory).toBe('256Mi');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(20);
  });

  test('the image user matches the Dockerfiles, and the Service targets the http port', () => {
    const dockerfile = readFileSync(join(repoRoot, 'Dockerfile.arm64'), 'utf8');
    expect(dockerfile).toContain(`USER ${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`);
    const svc = byKind('Service')[0];
    expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'tracepulse' });
    expect(svc.spec.ports).toContainEqual({ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' });
  });

  test('the kustomizations list every manifest but the example Secret, and ship a valid system map', () => {
    const overlay = docsOf('single/kustomization.yaml')[0];
    const baseK = docsOf('base/kustomization.yaml')[0];
    const listed = [
      ...overlay.resources.filter((r: string) => r !== '../base').map((r: string) => `single/${r}`),
      ...baseK.resources.map((r: string) => `base/${r}`),
    ].sort();
    expect(overlay.resources).toContain('../base');
    const expected = manifests.map((m) => m.file).filter((f) => f !== 'secret.example.yaml');
    expect(listed).toEqual([...new Set(expected)].sort());
    expect(baseK.configMapGenerator[0]).toEqual({
      name: 'tracepulse-system-map',
      files: ['system-map.yaml'],
    });
    // A copy (kustomize loads no file outside its folder): it must be a valid system map.
    const parsed = parseSystemMap(readFileSync(join(base, 'system-map.yaml'), 'utf8'));
    expect(parsed.ok ? [] : parsed.problems.map((p) => p.message)).toEqual([]);
  });

  test.skipIf(!hasKustomize)(
    'kubectl kustomize renders it, with the generated map name wired into the pod',
    () => {
      const p = Bun.spawnSync(['kubectl', 'kustomize', dir], { stdout: 'pipe', stderr: 'pipe' });
      expect(p.stderr.toString()).toBe('');
      expect(p.exitCode).toBe(0);
      const rendered = loadAll(p.stdout.toString()) as Doc[];
      expect(rendered.map((d) => d.kind).sort()).toEqual([
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'PersistentVolumeClaim',
        'Service',
      ]);
      const map = rendered.find(
        (d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('tracepulse-system-map-'),
      );
      const dep = rendered.find((d) => d.kind === 'Deployment');
      const vol = dep.spec.template.spec.volumes.find((v: Doc) => v.name === 'system-map');
      expect(vol.configMap.name).toBe(map.metadata.name);
      expect(dep.spec.template.spec.containers[0].image).toBe('tracepulse:0.1.0');
    },
  );
});
