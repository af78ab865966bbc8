// deploy/helm/tracepulse (issue 13). CI has no helm, so the chart's renders are committed as golden
// files (deploy/helm/rendered/CASE.yaml, written by scripts/render-helm from CASE.values.yaml), and
// checked here: (1) they are in step with the chart (rendered/inputs.sha256 holds the hash of every
// file the renders read), and (2) the rendered objects are what deploy/k8s (cluster case) and
// deploy/k8s/single (single case) apply: pod specs whole (images, env, ports, probes, volumes,
// security), replicas, update strategy, volumes, Services, and settings that give the same
// configuration. Where helm is on PATH the chart is also rendered afresh and compared.
import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { load, loadAll } from 'js-yaml';
import { loadConfig } from '../../src/config/config.ts';
import { type Doc, kustomizeByHand } from './kustomize-by-hand.ts';
import { createTempDirs, have, repoRoot } from './support.ts';

const chart = join(repoRoot, 'deploy/helm/tracepulse');
const renderedDir = join(repoRoot, 'deploy/helm/rendered');
const systemMapFile = 'deploy/k8s/base/system-map.yaml';
const rerender = 'run scripts/render-helm (needs helm 3 on PATH) and commit deploy/helm/rendered';
const cases = readdirSync(renderedDir)
  .filter((f) => f.endsWith('.values.yaml'))
  .map((f) => f.replace('.values.yaml', ''));
const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const parse = (yaml: string): Doc[] => (loadAll(yaml) as Doc[]).filter((d) => d != null);
const golden = (name: string) => parse(readFileSync(join(renderedDir, `${name}.yaml`), 'utf8'));
const of = (docs: Doc[], kind: string, name: string) =>
  docs.find((d) => d.kind === kind && d.metadata.name === name);
const ids = (docs: Doc[]) => docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
/** Every file the renders read, by the same rule as scripts/render-helm. */
const renderInputs = () =>
  [
    ...walk(chart).map((p) => relative(repoRoot, p)),
    ...cases.map((c) => `deploy/helm/rendered/${c}.values.yaml`),
    systemMapFile,
  ].sort();
const sha256 = (path: string) =>
  createHash('sha256')
    .update(readFileSync(join(repoRoot, path)))
    .digest('hex');
const recorded = (text: string) =>
  new Map(
    text
      .trim()
      .split('\n')
      .map((l) => {
        const [hash, path] = l.split(/\s+\*?/);
        return [path!, hash!] as const;
      }),
  );

/** The pod's settings as TracePulse reads them (ConfigMap data through the config schema). */
const settingsOf = (docs: Doc[]) => loadConfig(of(docs, 'ConfigMap', 'tracepulse-settings').data);
/** True when the Service's selector picks the workload's pods. */
const selects = (svc: Doc, workload: Doc) =>
  Object.entries(svc.spec.selector).every(([k, v]) => workload.spec.template.metadata.labels[k] === v);

describe('deploy/helm/rendered: golden renders of the chart', () => {
  test('are in step with the chart: every file the renders read has its recorded hash', () => {
    const had = recorded(readFileSync(join(renderedDir, 'inputs.sha256'), 'utf8'));
    const now = new Map(renderInputs().map((p) => [p, sha256(p)]));
    const stale = [...new Set([...had.keys(), ...now.keys()])]
      .filter((p) => had.get(p) !== now.get(p))
      .map((p) => `${p} ${now.has(p) ? (had.has(p) ? 'changed' : 'is new') : 'is gone'}: ${rerender}`);
    expect(stale).toEqual([]);
    const goldens = readdirSync(renderedDir).filter(
      (f) => f.endsWith('.yaml') && !f.endsWith('.values.yaml'),
    );
    expect(goldens.sort()).toEqual(cases.map((c) => `${c}.yaml`).sort());
  });

  test('cluster case = deploy/k8s: two pods with Redis', () => {
    const helm = golden('cluster');
    const k8s = kustomizeByHand(join(repoRoot, 'deploy/k8s'));
    expect(ids(helm)).toEqual(ids(k8s));
    for (const d of k8s)
      expect(of(helm, d.kind, d.metadata.name).metadata.labels).toMatchObject(d.metadata.labels);

    const [sts, k8sSts] = [of(helm, 'StatefulSet', 'tracepulse'), of(k8s, 'StatefulSet', 'tracepulse')];
    expect(sts.spec.template.spec).toEqual(k8sSts.spec.template.spec);
    for (const f of [
      'replicas',
      'serviceName',
      'podManagementPolicy',
      'updateStrategy',
      'revisionHistoryLimit',
    ])
      expect([f, sts.spec[f]]).toEqual([f, k8sSts.spec[f]]);
    expect(sts.spec.volumeClaimTemplates).toEqual(k8sSts.spec.volumeClaimTemplates);
    expect(sts.spec.replicas).toBe(2);

    const [redis, k8sRedis] = [
      of(helm, 'Deployment', 'tracepulse-redis'),
      of(k8s, 'Deployment', 'tracepulse-redis'),
    ];
    expect(redis.spec.template.spec).toEqual(k8sRedis.spec.template.spec);
    expect([redis.spec.replicas, redis.spec.strategy]).toEqual([
      k8sRedis.spec.replicas,
      k8sRedis.spec.strategy,
    ]);

    for (const [svc, workload] of [
      ['tracepulse', sts],
      ['tracepulse-redis', redis],
    ] as const) {
      const s = of(helm, 'Service', svc);
      expect([s.spec.type, s.spec.ports]).toEqual([
        of(k8s, 'Service', svc).spec.type,
        of(k8s, 'Service', svc).spec.ports,
      ]);
      expect(selects(s, workload)).toBe(true);
    }
    // The same configuration: the chart's own Redis, in cluster mode, under the default prefix.
    expect(settingsOf(helm)).toEqual(settingsOf(k8s));
    expect(settingsOf(helm)).toMatchObject({
      REDIS_URL: 'redis://tracepulse-redis:6379',
      TRACEPULSE_CLUSTER: 'redis',
    });
    expect(of(helm, 'ConfigMap', 'tracepulse-system-map').data).toEqual(
      of(k8s, 'ConfigMap', 'tracepulse-system-map').data,
    );
  });

  test('single case = deploy/k8s/single: one pod, no Redis (a StatefulSet of one, not a Deployment)', () => {
    const helm = golden('single');
    const k8s = kustomizeByHand(join(repoRoot, 'deploy/k8s/single'));
    expect(ids(helm)).toEqual([
      'ConfigMap/tracepulse-settings',
      'ConfigMap/tracepulse-system-map',
      'Service/tracepulse',
      'StatefulSet/tracepulse',
    ]);
    const sts = of(helm, 'StatefulSet', 'tracepulse');
    const dep = of(k8s, 'Deployment', 'tracepulse');
    expect([sts.spec.replicas, dep.spec.replicas]).toEqual([1, 1]);
    // The Deployment's data volume is the PVC; the StatefulSet's comes from its claim template.
    const { volumes, containers, ...pod } = sts.spec.template.spec;
    const { volumes: depVolumes, containers: depContainers, ...depPod } = dep.spec.template.spec;
    expect(pod).toEqual(depPod);
    const claim = depVolumes.find((v: Doc) => v.name === 'data').persistentVolumeClaim.claimName;
    expect(sts.spec.volumeClaimTemplates).toEqual([
      { metadata: { name: 'data' }, spec: of(k8s, 'PersistentVolumeClaim', claim).spec },
    ]);
    expect(volumes).toEqual(depVolumes.filter((v: Doc) => v.name !== 'data'));
    // The pod's name as instance id is the only addition: stable, where a Deployment's is random.
    const [c] = containers;
    expect({ ...c, env: c.env.filter((e: Doc) => e.name !== 'TRACEPULSE_INSTANCE_ID') }).toEqual(
      depContainers[0],
    );
    expect(of(helm, 'ConfigMap', 'tracepulse-settings').data).toEqual(
      of(k8s, 'ConfigMap', 'tracepulse-settings').data,
    );
    expect(settingsOf(helm).TRACEPULSE_CLUSTER).toBe('off');
    expect(of(helm, 'ConfigMap', 'tracepulse-system-map').data).toEqual(
      of(k8s, 'ConfigMap', 'tracepulse-system-map').data,
    );
    expect(selects(of(helm, 'Service', 'tracepulse'), sts)).toBe(true);
  });

  test("default case = single case but for the system map, which is values.yaml's", () => {
    const [def, single] = [golden('default'), golden('single')];
    const mapOf = (docs: Doc[]) => of(docs, 'ConfigMap', 'tracepulse-system-map').data['system-map.yaml'];
    expect(mapOf(def)).toBe((load(read('deploy/helm/tracepulse/values.yaml')) as Doc).systemMap);
    const others = (docs: Doc[]) => docs.filter((d) => d.metadata.name !== 'tracepulse-system-map');
    expect(others(def)).toEqual(others(single));
  });
});

describe('deploy/helm/tracepulse values', () => {
  test('every value a template reads exists, and every value is read', () => {
    const templates = walk(join(chart, 'templates'))
      .map((p) => readFileSync(p, 'utf8'))
      .join('\n');
    const values = load(read('deploy/helm/tracepulse/values.yaml')) as Doc;
    const leaves = (v: Doc, path: string[] = []): string[] =>
      v && typeof v === 'object' && !['settings', 'resources'].includes(path[path.length - 1] ?? '')
        ? Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]))
        : [path.join('.')];
    const reads = new Set([...templates.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)].map((m) => m[1]!));
    const has = (p: string) => p.split('.').reduce<Doc>((o, k) => o?.[k], values) !== undefined;
    expect([...reads].filter((p) => !has(p))).toEqual([]);
    expect(leaves(values).filter((p) => ![...reads].some((r) => r === p || p.startsWith(`${r}.`)))).toEqual(
      [],
    );
  });
});

if (!have('helm'))
  console.warn('SKIP fresh helm renders: helm is not on PATH (the goldens are checked above)');
describe.skipIf(!have('helm'))('deploy/helm/tracepulse rendered by the helm on PATH', () => {
  const temp = createTempDirs('tracepulse-helm');
  const helm = (...args: string[]) => {
    const r = Bun.spawnSync(['helm', ...args], { cwd: repoRoot });
    return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
  };

  test('scripts/render-helm gives the committed goldens and hashes', () => {
    const out = temp.make();
    const r = Bun.spawnSync(['bash', 'scripts/render-helm', out], { cwd: repoRoot });
    expect([r.exitCode, r.stderr.toString()]).toEqual([0, expect.any(String)]);
    for (const c of cases) expect(parse(readFileSync(join(out, `${c}.yaml`), 'utf8'))).toEqual(golden(c));
    expect(readFileSync(join(out, 'inputs.sha256'), 'utf8')).toBe(
      readFileSync(join(renderedDir, 'inputs.sha256'), 'utf8'),
    );
    temp.cleanup();
  }, 60_000);

  test('values that would break the deployment are refused', () => {
    const refused: [string, RegExp][] = [
      ['replicas=2', /replicas > 1 needs redis.enabled or redis.url/],
      ['replicas=2,redis.enabled=true,settings.TRACEPULSE_CLUSTER=off', /needs cluster mode/],
      ['settings.REDIS_URL=redis://r:6379', /set redis.url/],
      ['settings.TRACEPULSE_PORT=8080', /the pod sets it in env/],
    ];
    for (const [set, why] of refused) {
      const r = helm('template', 'tracepulse', 'deploy/helm/tracepulse', '--set', set);
      expect([set, r.code]).toEqual([set, 1]);
      expect(r.err).toMatch(why);
    }
    const external = helm(
      'template',
      'tp',
      'deploy/helm/tracepulse',
      '--set',
      'replicas=3,redis.url=redis://r:6379',
    );
    expect(external.code).toBe(0);
    const docs = parse(external.out);
    expect(ids(docs)).not.toContain('Deployment/tp-redis');
    expect(of(docs, 'ConfigMap', 'tp-settings').data.REDIS_URL).toBe('redis://r:6379');
  });
});
