// What `kubectl kustomize` makes of deploy/k8s and deploy/k8s/single, for machines without kubectl
// (CI has none): resources, configMapGenerator, ConfigMap data patches, image tags and metadata
// labels, the only features those kustomizations use. Any other field throws, so a kustomization
// that grows past this fails the tests that use it instead of being half read. Generated ConfigMaps
// keep their plain name (kustomize adds a content hash; the pods' references follow it either way).
import { readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { load, loadAll } from 'js-yaml';

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, read field by field.
export type Doc = any;

const known = new Set([
  'apiVersion',
  'kind',
  'resources',
  'configMapGenerator',
  'patches',
  'images',
  'labels',
]);

export function kustomizeByHand(dir: string): Doc[] {
  const k = load(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Doc;
  const unknown = Object.keys(k).filter((f) => !known.has(f));
  if (unknown.length > 0) throw new Error(`${dir}: kustomization fields not read here: ${unknown}`);
  const docs: Doc[] = (k.resources ?? []).flatMap((r: string) => {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) return kustomizeByHand(path);
    return (loadAll(readFileSync(path, 'utf8')) as Doc[]).filter((d) => d != null);
  });
  for (const g of k.configMapGenerator ?? []) {
    const data = Object.fromEntries(
      g.files.map((f: string) => [basename(f), readFileSync(join(dir, f), 'utf8')]),
    );
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data });
  }
  for (const { patch } of k.patches ?? []) {
    const p = load(patch) as Doc;
    const target = docs.find((d) => d.kind === p.kind && d.metadata.name === p.metadata.name);
    if (
      !target ||
      p.kind !== 'ConfigMap' ||
      Object.keys(p).some((f) => !['apiVersion', 'kind', 'metadata', 'data'].includes(f))
    )
      throw new Error(`${dir}: only data patches of an existing ConfigMap are read here`);
    target.data = { ...target.data, ...p.data };
  }
  for (const img of k.images ?? []) {
    for (const c of docs.flatMap((d) => d.spec?.template?.spec?.containers ?? [])) {
      if (c.image.split(':')[0] === img.name) c.image = `${img.newName ?? img.name}:${img.newTag}`;
    }
  }
  for (const { pairs, ...rest } of k.labels ?? []) {
    // includeSelectors / includeTemplates would also label selectors and pod templates.
    if (Object.keys(rest).length > 0) throw new Error(`${dir}: only plain label pairs are read here`);
    for (const d of docs) d.metadata.labels = { ...d.metadata.labels, ...pairs };
  }
  return docs;
}
