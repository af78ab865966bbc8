// deploy/k8s (issue 13): two replicas acting as one through Redis, the default Kubernetes setup.
// Rendered with kustomize (kubectl 1.21+), then checked: a StatefulSet of two pods, each with its own
// SQLite volume and its pod name as instance id, a Redis and its Service, the settings valid and
// pointing at that Redis, and no single-replica Deployment or volume (those are deploy/k8s/single,
// k8s-single.test.ts).
import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import { configSchema, loadConfig } from '../../src/config/config.ts';
import { have, repoRoot } from './support.ts';

const kustomizeMajor = have('kubectl')
  ? Number(
      /Kustomize Version: v(\d+)/.exec(
        Bun.spawnSync(['kubectl', 'version', '--client']).stdout.toString(),
      )?.[1] ?? 0,
    )
  : 0;
if (kustomizeMajor < 4) console.warn('SKIP deploy/k8s: needs kubectl with kustomize v4 or newer');

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked field by field below.
type Doc = any;
const render = (): Doc[] => {
  const r = Bun.spawnSync(['kubectl', 'kustomize', join(repoRoot, 'deploy/k8s')]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return loadAll(r.stdout.toString()) as Doc[];
};

describe.skipIf(kustomizeMajor < 4)('deploy/k8s', () => {
  const docs = kustomizeMajor >= 4 ? render() : [];
  const of = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

  test('two TracePulse pods in a StatefulSet, each with its own data volume and its pod name as instance id', () => {
    const sts = of('StatefulSet', 'tracepulse');
    expect(sts.spec.replicas).toBe(2);
    expect(sts.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const c = sts.spec.template.spec.containers[0];
    expect(c.volumeMounts.find((m: Doc) => m.name === 'data').mountPath).toBe('/var/lib/tracepulse');
    expect(c.env.find((e: Doc) => e.name === 'TRACEPULSE_INSTANCE_ID').valueFrom.fieldRef.fieldPath).toBe(
      'metadata.name',
    );
    // The generated map ConfigMap (hashed name) is the one the pods mount.
    const mapName = docs.find(
      (d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('tracepulse-system-map'),
    ).metadata.name;
    expect(sts.spec.template.spec.volumes.find((v: Doc) => v.name === 'system-map').configMap.name).toBe(
      mapName,
    );
    // No single-replica leftovers: the Deployment and its one volume are gone.
    expect(of('Deployment', 'tracepulse')).toBeUndefined();
    expect(of('PersistentVolumeClaim', 'tracepulse-data')).toBeUndefined();
    expect(c.image).toBe('tracepulse:0.1.0');
    expect(sts.metadata.labels['app.kubernetes.io/part-of']).toBe('tracepulse');
    expect(docs.map((d) => d.kind).sort()).toEqual([
      'ConfigMap',
      'ConfigMap',
      'Deployment',
      'Service',
      'Service',
      'StatefulSet',
    ]);
  });

  test('a Redis with a Service, and settings that form a valid cluster configuration pointing at it', () => {
    const redis = of('Deployment', 'tracepulse-redis');
    expect(redis.spec.replicas).toBe(1);
    const svc = of('Service', 'tracepulse-redis');
    expect(svc.spec.selector).toEqual(redis.spec.template.metadata.labels);
    const settings = of('ConfigMap', 'tracepulse-settings').data;
    expect(settings.REDIS_URL).toBe(`redis://tracepulse-redis:${svc.spec.ports[0].port}`);
    const known = Object.keys(configSchema.shape);
    expect(Object.keys(settings).filter((k) => !known.includes(k))).toEqual([]);
    const config = loadConfig({ ...settings, TRACEPULSE_INSTANCE_ID: 'tracepulse-0' });
    expect(config.TRACEPULSE_CLUSTER).toBe('redis');
  });
});
