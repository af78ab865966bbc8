import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { repoRoot } from '../helpers/test-app.ts';

describe('tracepulse eval --json into a pipe', () => {
  test('a report larger than the pipe buffer arrives whole, even to a reader that starts late', async () => {
    // 77 labelled triggers give about 80 KB of JSON; a pipe holds 64 KiB. The reader waits five
    // seconds, longer than the run, as a slow consumer (python -c, jq on a busy gateway) may.
    const cli = [process.execPath, join(repoRoot, 'src/main.ts'), 'eval']
      .concat(
        ['tests/fixtures/incidents/dev', 'tests/fixtures/incidents/fresh-3'].map((d) => join(repoRoot, d)),
      )
      .map((a) => `'${a}'`)
      .join(' ');
    const p = Bun.spawn(['sh', '-c', `${cli} --json 2>/dev/null | (sleep 5; cat)`], { stdout: 'pipe' });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    expect(code).toBe(0);
    expect(out.length).toBeGreaterThan(65_536);
    const report = JSON.parse(out) as { outcomes: unknown[] };
    expect(report.outcomes).toHaveLength(77);
  }, 60_000);
});
