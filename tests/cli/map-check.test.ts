// Issue 15 (first-user friction): map check counts in words a person would write.
import { afterAll, expect, test } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers/test-app.ts';

const dir = tempDir('tp-map-check-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('one cycle is "1 warning", not "1 warnings"', () => {
  const file = join(dir, 'cycle.yaml');
  writeFileSync(
    file,
    `triggers: [SESSION_DROP]
services:
  evse_manager_1:
    depends_on: [energy_manager]
  energy_manager:
    depends_on: [evse_manager_1]
`,
  );
  const r = Bun.spawnSync([
    join(repoRoot, 'node_modules/.bin/bun'),
    join(repoRoot, 'src/main.ts'),
    'map',
    'check',
    file,
  ]);
  const out = r.stdout.toString();
  expect(r.exitCode).toBe(0);
  expect(out).toContain('1 trigger, 1 warning\n');
  expect(out).toContain('2 services');
});

test('a wrong type and an unknown dependency are reported in one round', () => {
  const file = join(dir, 'two-problems.yaml');
  writeFileSync(
    file,
    `triggers: [SESSION_DROP]
services:
  evse_manager_1:
    depends_on: [ocpp, energy_manger]
    owners: "@charging-core"
  ocpp: {}
`,
  );
  const r = Bun.spawnSync([
    join(repoRoot, 'node_modules/.bin/bun'),
    join(repoRoot, 'src/main.ts'),
    'map',
    'check',
    file,
  ]);
  const out = `${r.stdout.toString()}${r.stderr.toString()}`;
  expect(r.exitCode).toBe(1);
  expect(out).toContain('services.evse_manager_1.owners');
  expect(out).toContain("depends on unknown service 'energy_manger'");
});
