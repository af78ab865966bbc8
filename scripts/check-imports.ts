#!/usr/bin/env bun
/**
 * The dependency rule of src/ (README, "Layout"), checked over every import of every file:
 *   npx bun scripts/check-imports.ts [SRC_DIR]   prints each offending import, exit 1 when there is one
 * Part of `npm test` through tests/layout/imports.test.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * What each folder of src/ may import besides itself. core, map and analyze are pure (no I/O
 * modules either); store sits on core only; the stages (ingest, sources, deliver, ui) sit on core
 * and store and never import each other, http or app; http mounts the stages' routes; only the
 * composition root (app.ts and its parts in app/, which turn the config into each feature's
 * dependencies) and the entry points (main.ts, cli/) wire everything together.
 */
export const allowed: Record<string, readonly string[]> = {
  core: [],
  config: ['core'],
  map: ['core'],
  analyze: ['core', 'map'],
  store: ['core'],
  auth: ['core', 'store'],
  learn: ['core', 'map', 'analyze', 'store', 'auth'],
  pipeline: ['core', 'map', 'analyze', 'store'],
  ingest: ['core', 'map', 'store'],
  sources: ['core', 'map', 'store'],
  deliver: ['core', 'map', 'store'],
  cluster: ['core', 'map', 'store', 'sources'],
  llm: ['core'],
  ui: ['core', 'map', 'analyze', 'store', 'auth', 'learn'],
  http: [
    'core',
    'config',
    'map',
    'analyze',
    'store',
    'auth',
    'pipeline',
    'ingest',
    'sources',
    'deliver',
    'learn',
  ],
  replay: ['core', 'config', 'map'],
  cli: ['*'],
  app: ['*'],
  'app.ts': ['*'],
  'main.ts': ['*'],
};

/** Folders whose code must stay pure: no module that does I/O. */
export const pure = new Set(['core', 'map', 'analyze']);
const ioModules =
  /^(node:(fs|net|http|https|child_process|dgram|tls|worker_threads)|bun:sqlite|mqtt|openai|@octokit\/|@slack\/|nodemailer)/;

export interface Violation {
  file: string;
  specifier: string;
  message: string;
}

const importRe =
  /(?:^|[\n;])\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The specifiers a file imports (static, re-exports, type-only and dynamic imports). */
export function importsOf(code: string): string[] {
  const out: string[] = [];
  for (const m of code.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(importRe))
    out.push((m[1] ?? m[2]) as string);
  return out;
}

/** The part of src/ a path belongs to: its first folder, or the file name for top-level files. */
const partOf = (relPath: string): string => relPath.split(sep)[0] as string;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.(ts|tsx)$/.test(name) ? [p] : [];
  });
}

/** Every import under `srcDir` that breaks the rule. */
export function checkImports(srcDir: string): Violation[] {
  const root = resolve(srcDir);
  const out: Violation[] = [];
  for (const file of files(root)) {
    const rel = relative(root, file);
    const from = partOf(rel);
    const may = allowed[from];
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const report = (message: string) => out.push({ file: rel, specifier: spec, message });
      if (!spec.startsWith('.')) {
        if (pure.has(from) && ioModules.test(spec)) report(`${from} is pure: it may not import ${spec}`);
        continue;
      }
      const target = relative(root, resolve(dirname(file), spec));
      if (target.startsWith('..')) {
        // The entry points read the version from package.json.
        if ((from === 'app.ts' || from === 'main.ts') && target === join('..', 'package.json')) continue;
        report(`src/ may not import outside src/ (${target.split(sep).join('/')})`);
        continue;
      }
      const to = partOf(target);
      if (to === from) continue;
      if (!may) {
        report(`${from} is not in the dependency rule (scripts/check-imports.ts, allowed)`);
        continue;
      }
      if (may.includes('*') || may.includes(to)) continue;
      report(`${from} may not import ${to} (it may import: ${may.join(', ') || 'nothing outside itself'})`);
    }
  }
  return out;
}

if (import.meta.main) {
  const violations = checkImports(process.argv[2] ?? join(import.meta.dir, '..', 'src'));
  for (const v of violations) console.error(`${v.file}: import '${v.specifier}': ${v.message}`);
  if (violations.length) process.exit(1);
  console.log('imports follow the dependency rule');
}
