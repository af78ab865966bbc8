import { afterAll, describe, expect, test } from 'bun:test';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkImports, importsOf } from '../../scripts/check-imports.ts';

const repoRoot = join(import.meta.dir, '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A throw-away src/ tree with the given files. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'tracepulse-imports-'));
  dirs.push(root);
  for (const [path, code] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), code);
  }
  return root;
}

describe('the dependency rule of src/', () => {
  test('holds: no import runs the wrong way', () => {
    const violations = checkImports(join(repoRoot, 'src'));
    expect(violations.map((v) => `src/${v.file}: '${v.specifier}': ${v.message}`)).toEqual([]);
  });

  test('a wrong-way import fails the check, naming the file and the import', () => {
    const root = tree({
      'analyze/text.ts': 'export const x = 1;\n',
      'core/clock.ts': 'export const now = () => 0;\n',
      'store/log-patterns.ts':
        "import { x } from '../analyze/text.ts';\nimport { now } from '../core/clock.ts';\n",
    });
    expect(checkImports(root)).toEqual([
      {
        file: 'store/log-patterns.ts',
        specifier: '../analyze/text.ts',
        message: 'store may not import analyze (it may import: core)',
      },
    ]);
  });

  test('type-only, re-exported and dynamic imports count; pure layers may not do I/O', () => {
    const root = tree({
      'app.ts': 'export const startApp = 1;\n',
      'http/change-routes.ts': 'export const r = 1;\n',
      'ui/answer/types.ts': 'export type Citation = string;\n',
      'replay/target.ts': "export async function f() { return (await import('../app.ts')).startApp; }\n",
      'sources/change-sources.ts': "export { r } from '../http/change-routes.ts';\n",
      'store/chat-store.ts':
        "import type { Citation } from '../ui/answer/types.ts';\nexport type C = Citation;\n",
      'core/log.ts': "import { appendFileSync } from 'node:fs';\nexport const w = appendFileSync;\n",
    });
    const found = checkImports(root).map((v) => `${v.file} ${v.specifier}`);
    expect(found.sort()).toEqual(
      [
        'core/log.ts node:fs',
        'replay/target.ts ../app.ts',
        'sources/change-sources.ts ../http/change-routes.ts',
        'store/chat-store.ts ../ui/answer/types.ts',
      ].sort(),
    );
  });

  test('the real src/ with one wrong-way import added fails, and a feature may not reach into app/', () => {
    const root = mkdtempSync(join(tmpdir(), 'tracepulse-imports-'));
    dirs.push(root);
    cpSync(join(repoRoot, 'src'), root, { recursive: true });
    // store on top of the engine, and a stage wiring itself from the composition root's parts.
    appendFileSync(join(root, 'store', 'db.ts'), "\nimport type { Hypothesis } from '../analyze/rank.ts';\n");
    appendFileSync(
      join(root, 'deliver', 'sink.ts'),
      "\nimport type { SinkContext } from '../app/sinks.ts';\n",
    );
    expect(checkImports(root).sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      {
        file: join('deliver', 'sink.ts'),
        specifier: '../app/sinks.ts',
        message: 'deliver may not import app (it may import: core, map, store)',
      },
      {
        file: join('store', 'db.ts'),
        specifier: '../analyze/rank.ts',
        message: 'store may not import analyze (it may import: core)',
      },
    ]);
  });

  test('the script exits 1 and prints the offending import', () => {
    const root = tree({
      'learn/model.ts': 'export const m = 1;\n',
      'store/learn-store.ts': "import { m } from '../learn/model.ts';\nexport const s = m;\n",
    });
    const r = Bun.spawnSync([process.execPath, join(repoRoot, 'scripts', 'check-imports.ts'), root], {
      stdout: 'pipe',
      stderr: 'pipe',
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toContain(
      "store/learn-store.ts: import '../learn/model.ts': store may not import learn",
    );
  });

  test('reads every form of import', () => {
    expect(
      importsOf(
        [
          "import a from './a.ts';",
          "import type { B } from './b.ts';",
          "import {\n  c,\n  d,\n} from './c.ts';",
          "export * from './e.ts';",
          "import './side-effect.ts';",
          "const f = await import('./f.ts');",
          "/* import { g } from './commented.ts'; */",
        ].join('\n'),
      ),
    ).toEqual(['./a.ts', './b.ts', './c.ts', './e.ts', './side-effect.ts', './f.ts']);
  });
});
