// deploy/helm/tracepulse (issue 13): the chart's values cover what deploy/k8s and deploy/k8s/single
// do. helm is not installed here (Debian bookworm and npm ship no helm package), so the templates
// are not rendered; checked instead: every value a template reads exists in values.yaml and every
// value is read, the default settings are the manifests' settings and form a valid configuration,
// and the pod template sets the same environment, probes, mounts and security context as the
// kustomize manifests.
import { describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { loadConfig } from '../../src/config/config.ts';
import { repoRoot } from './support.ts';

const chart = join(repoRoot, 'deploy/helm/tracepulse');
const templates = readdirSync(join(chart, 'templates'))
  .map((f) => readFileSync(join(chart, 'templates', f), 'utf8'))
  .join('\n');
// biome-ignore lint/suspicious/noExplicitAny: free-form YAML, checked field by field below.
type Doc = any;
const values = load(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Doc;

/** Dotted paths of values.yaml, stopping at maps whose keys are data (settings) and at lists. */
const leaves = (v: Doc, path: string[] = []): string[] =>
  v &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  path.join('.') !== 'settings' &&
  path[path.length - 1] !== 'resources'
    ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]))
    : [path.join('.')];

describe('deploy/helm/tracepulse', () => {
  test('every value a template reads exists, and every value is read', () => {
    const read = new Set([...templates.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1]!));
    const has = (p: string) =>
      p.split('.').reduce<Doc>((o, k) => (o == null ? undefined : o[k]), values) !== undefined;
    expect([...read].filter((p) => !has(p))).toEqual([]);
    expect(leaves(values).filter((p) => ![...read].some((r) => r === p || p.startsWith(`${r}.`)))).toEqual(
      [],
    );
  });

  test("the default settings are deploy/k8s's and, with a Redis, a valid cluster configuration", () => {
    const k8s = loadAll(
      readFileSync(join(repoRoot, 'deploy/k8s/base/configmap-settings.yaml'), 'utf8'),
    ) as Doc[];
    expect(values.settings).toEqual(k8s[0].data);
    const config = loadConfig({
      ...values.settings,
      REDIS_URL: 'redis://tracepulse-redis:6379',
      TRACEPULSE_REDIS_PREFIX: values.redis.prefix,
    });
    expect(config.TRACEPULSE_CLUSTER).toBe('redis');
  });

  test('the pod template sets what the kustomize StatefulSet sets', () => {
    const sts = (loadAll(readFileSync(join(repoRoot, 'deploy/k8s/statefulset.yaml'), 'utf8')) as Doc[])[0];
    const c = sts.spec.template.spec.containers[0];
    const tpl = readFileSync(join(chart, 'templates/statefulset.yaml'), 'utf8');
    for (const e of c.env) expect(tpl).toContain(`- name: ${e.name}`);
    for (const m of c.volumeMounts) expect(tpl).toContain(`mountPath: ${m.mountPath}`);
    for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(tpl).toContain(`${p}:`);
    expect(tpl).toContain('readOnlyRootFilesystem: true');
    expect(tpl).toContain(`runAsUser: ${sts.spec.template.spec.securityContext.runAsUser}`);
    expect(tpl).toContain('volumeClaimTemplates:');
    // replicas > 1 without Redis is refused at render time.
    expect(templates).toContain('fail "replicas > 1 needs redis.enabled or redis.url');
  });
});
