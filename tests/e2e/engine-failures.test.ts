import { beforeAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../src/core/report.ts';
import { repoRoot } from '../helpers/test-app.ts';

/**
 * The four failures a first user reported against the example map (issue 16), replayed through the
 * compiled executable: `tracepulse replay FILE --json` runs the whole service in-process.
 */
const x64 = join(repoRoot, 'dist', 'tracepulse-linux-x64');
const fixtures = join(repoRoot, 'tests', 'fixtures', 'replay', 'engine');

beforeAll(() => {
  if (existsSync(x64)) return;
  const r = Bun.spawnSync(['bash', join(repoRoot, 'scripts', 'build'), 'x64'], {
    stdout: 'pipe',
    stderr: 'pipe',
  });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);

interface Result {
  label: { rootService: string; changeId?: string | null } | null;
  report: Report | null;
}

function replay(name: string): Result[] {
  const r = Bun.spawnSync([x64, 'replay', join(fixtures, name), '--json'], {
    stdout: 'pipe',
    stderr: 'pipe',
    env: { PATH: process.env.PATH ?? '' },
  });
  if (r.exitCode !== 0) throw new Error(`replay ${name} exited ${r.exitCode}: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString()) as { results: Result[] }).results;
}

const top = (r: Result) => [...(r.report?.hypotheses ?? [])].sort((a, b) => a.rank - b.rank);

describe('the failures of issue 16, through the compiled binary', () => {
  test('1. the upstream that logged first on the session, not the dependent that repeats errors naming it', () => {
    const [r] = replay('upstream-first-error.ndjson');
    expect(top(r!)[0]?.service).toBe('site_meter');
    // The example map has no site_meter: the report proposes the edge the evidence implies.
    expect(r!.report?.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'energy_manager', dependsOn: 'site_meter' }),
    );
  }, 30_000);

  test('2. a cascade: the later SESSION_DROP cites the OCPP_DISCONNECT diagnosed 100 s earlier and joins its incident', () => {
    const [first, second] = replay('cascade-ocpp-then-session.ndjson');
    expect(top(first!)[0]?.service).toBe('network');
    const hs = top(second!);
    expect(hs[0]?.service).toBe('network');
    expect(hs[0]?.change?.id).toBe('cfg-dns-2025-11-27');
    expect(second!.report?.relatedReports?.[0]?.reportId).toBe(first!.report?.id);
    expect(second!.report?.incidentId).toBe(first!.report?.incidentId);
    expect(second!.report?.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'evse_manager_1', dependsOn: 'ocpp' }),
    );
    expect(second!.report?.summary).toContain('the map may be missing: evse_manager_1 depends_on ocpp');
  }, 30_000);

  test('3. a meter that reports its own failure is ranked above the broker, not tied and broken by name', () => {
    const [r] = replay('meter-reports-itself.ndjson');
    const [a, b] = top(r!);
    expect(a?.service).toBe('powermeter_dc');
    expect(a!.confidence).toBeGreaterThan(b?.confidence ?? 0);
  }, 30_000);

  test('4. a config change whose root only warns, with chronic errors elsewhere in the closure', () => {
    const [r] = replay('config-root-only-warns.ndjson');
    expect(top(r!)[0]?.service).toBe('imd');
    expect(top(r!)[0]?.change?.id).toBe('cfg-imd-2025-11-29');
  }, 30_000);
});

describe('edges the map leaves out, through the compiled binary', () => {
  test("the meter's serial hub that everest-core's manifests imply is found and its edge proposed", () => {
    const [r] = replay('implied-serial-hub.ndjson');
    expect(top(r!)[0]?.service).toBe('serial_hub');
    expect(r!.report?.mapSuggestions).toContainEqual(
      expect.objectContaining({ service: 'powermeter', dependsOn: 'serial_hub' }),
    );
  }, 30_000);
});
