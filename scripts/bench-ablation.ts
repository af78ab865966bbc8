/**
 * Ablation: each structural signal of the engine (and the YAML pack as a whole) switched off in
 * turn, on each benchmark, through the real pipeline (in-process service, replayed cases). Prints
 * a markdown table of top-1 / top-3 / change per benchmark and the change against the full engine.
 *
 *   npx bun scripts/bench-ablation.ts NAME=PATH [NAME=PATH ...]
 *   npx bun scripts/bench-ablation.ts dev=tests/fixtures/incidents/dev generator=/tmp/seed1.ndjson
 *   npx bun scripts/bench-ablation.ts --rules ev.change.timeouts,ev.change.thresholds dev=...
 *
 * With --rules, only the listed rule ids (signals or pack rules) are switched off, each in turn.
 * Uses the same adjustments mechanism as learning (a multiplier of 0 per rule id).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Adjustments } from '../src/core/learnt-model.ts';
import { builtInRules } from '../src/analyze/rules/pack.ts';
import { caseFiles } from '../src/cli/eval.ts';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/core/logger.ts';
import { createFeedClient } from '../src/replay/client.ts';
import { replayRecords } from '../src/replay/replayer.ts';
import { type Outcome, scoreTrigger, summarise } from '../src/replay/score.ts';
import { parseStream } from '../src/replay/stream.ts';

const signals = [
  'graph.prior',
  'logs.errors',
  'logs.onset',
  'logs.mention',
  'event.origin',
  'change.recent',
  'change.version',
  'change.immediate',
  'change.identifier',
  'cascade.cited',
  'logs.silent',
  'logs.code-origin',
  'logs.subject',
];
const packIds = builtInRules.map((r) => r.id);
const argv = process.argv.slice(2);
const only = argv.indexOf('--rules');
const chosen = only >= 0 ? (argv.splice(only, 2)[1] ?? '').split(',').filter(Boolean) : null;
const variants: Array<[string, Adjustments | undefined]> = [
  ['full engine', undefined],
  ...(chosen ?? signals).map((id): [string, Adjustments] => [`without ${id}`, { rules: { [id]: 0 } }]),
  ...(chosen
    ? []
    : ([['without the YAML pack', { rules: Object.fromEntries(packIds.map((id) => [id, 0])) }]] as Array<
        [string, Adjustments]
      >)),
];

async function score(files: string[], adjustments: Adjustments | undefined): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const file of files) {
    const parsed = parseStream(await Bun.file(file).text());
    if (!parsed.ok) throw new Error(`${file}: ${parsed.problems.join('; ')}`);
    const dir = mkdtempSync(join(tmpdir(), 'tracepulse-ablation-'));
    const config = loadConfig({
      TRACEPULSE_PORT: '0',
      TRACEPULSE_HOST: '127.0.0.1',
      TRACEPULSE_DATA_DIR: dir,
      TRACEPULSE_RETENTION_DAYS: '3650',
      TRACEPULSE_MAX_BODY_BYTES: String(4 * 1024 * 1024),
      TRACEPULSE_LOG_LEVEL: 'error',
      TRACEPULSE_SYSTEM_MAP: join(dir, 'system-map.yaml'),
    });
    const { startApp } = await import('../src/app.ts');
    const app = await startApp(config, { logger: createLogger({ level: 'error' }) });
    app.ctx.analysis.useAdjustments(() => adjustments);
    try {
      const target = {
        url: app.url,
        apiKey: config.TRACEPULSE_API_KEYS[0],
        maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
        stop: async () => {},
      };
      const { results } = await replayRecords(parsed.records, createFeedClient(target));
      for (const r of results) {
        const o = scoreTrigger(file, r);
        if (o) outcomes.push(o);
      }
    } finally {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return outcomes;
}

const benches = argv.map((a) => {
  const [name, path] = a.split('=');
  if (!name || !path) throw new Error(`expected NAME=PATH, got ${a}`);
  return { name, files: caseFiles([path]) };
});
if (!benches.length) throw new Error('usage: bench-ablation.ts NAME=PATH [NAME=PATH ...]');

const pct = (a: number, n: number) => (n ? `${((100 * a) / n).toFixed(1)}` : '-');
const rows: string[][] = [];
const full = new Map<string, number>();
for (const [label, adjustments] of variants) {
  const row = [label];
  for (const b of benches) {
    const f = summarise(await score(b.files, adjustments)).overall;
    const top1 = f.n ? f.top1 / f.n : 0;
    if (!adjustments) full.set(b.name, top1);
    const delta = adjustments ? ` (${((top1 - (full.get(b.name) ?? 0)) * 100).toFixed(1)})` : '';
    row.push(
      `${pct(f.top1, f.n)}${delta} / ${pct(f.top3, f.n)} / ${f.changeN ? pct(f.changeHits, f.changeN) : '-'}`,
    );
  }
  rows.push(row);
  console.error(`${label} done`);
}
console.log(`| variant | ${benches.map((b) => `${b.name} top-1 (Δ) / top-3 / change %`).join(' | ')} |`);
console.log(`|---|${benches.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
