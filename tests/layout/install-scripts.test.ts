// Issue 15 (first-user friction): `npm install` names no install script it was not told about
// (bun's postinstall fetches the runtime this project runs on: approved in package.json).
import { expect, test } from 'bun:test';
import { repoRoot } from '../helpers/test-app.ts';

test('npm knows every install script the dependencies run: no install-scripts notice', () => {
  const r = Bun.spawnSync(['npm', 'install-scripts', 'ls'], {
    cwd: repoRoot,
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const out = `${r.stdout.toString()}${r.stderr.toString()}`;
  expect(out).toContain('No packages with unreviewed install scripts');
  expect(out).not.toContain('not yet covered by allowScripts');
}, 60_000);
