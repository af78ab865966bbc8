import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { intOption, parseArgs, type TextOut } from '../../../src/cli/args.ts';
import { reliabilityTable, table } from '../../../src/cli/eval.ts';
import { formatStream } from '../../../src/replay/stream.ts';
import { runEval, scenarioStreams } from './harness.ts';

export const usage = `usage: bun packages/scenarios/src/cli.ts [--seed N] [--count N] [--robust | --silent-roots] [--lookback-days N]
                     [--batch N] (--out DIR | [--json] [--misses] [--min-top1 PERCENT])

Generates --count labelled synthetic scenarios from --seed (default 1, 300) (development only: the
product never contains this generator).
  --out DIR        write them as labelled replay streams, DIR/seedS[-robust]-FIRST-LAST.ndjson (one per
                   batch of --batch scenarios, at most 250), for \`tracepulse eval DIR\`
  (no --out)       score them in-process instead, the same way \`tracepulse eval\` would
  --robust         the robustness run: other decoy wording, each service's clock skewed by up to
                   +-2 s, one edge on the root's path removed from about a third of the maps
  --silent-roots   the robustness run in which, besides, the root of every runtime fault logs
                   nothing (a device or link that only shows in what its dependents say); DIR files
                   are named seedS-robust-silent-FIRST-LAST.ndjson
  --lookback-days  the scoring service's TRACEPULSE_CHANGE_LOOKBACK_DAYS (default 7): scenarios are
                   spaced so no scenario's changes fall inside another's look-back
  --min-top1 P     exit 1 when top-1 accuracy is below P percent`;

export async function scenariosCommand(
  argv: string[],
  out: TextOut = process.stdout,
  err: TextOut = process.stderr,
): Promise<number> {
  const args = parseArgs(argv, {
    values: ['seed', 'count', 'out', 'lookback-days', 'batch', 'min-top1'],
    flags: ['robust', 'silent-roots', 'json', 'misses', 'help'],
  });
  if (!args.ok || args.positionals.length || (args.ok && args.flags.has('help'))) {
    err.write(`${args.ok ? '' : `${args.error}\n`}${usage}\n`);
    return args.ok && args.flags.has('help') ? 0 : 2;
  }
  const ints = ['seed', 'count', 'lookback-days', 'batch'].map((n) =>
    intOption(args.values, n, { seed: 1, count: 300, 'lookback-days': 7, batch: 250 }[n] as number),
  );
  const bad = ints.find((v) => typeof v === 'string');
  if (bad !== undefined) {
    err.write(`${bad}\n`);
    return 2;
  }
  const [seed, count, lookbackDays, batchSize] = ints as number[];
  const minTop1 = args.values['min-top1'] === undefined ? null : Number(args.values['min-top1']);
  if (minTop1 !== null && !(minTop1 >= 0 && minTop1 <= 100)) {
    err.write('--min-top1 must be a percentage between 0 and 100\n');
    return 2;
  }
  const options = {
    seed: seed as number,
    count: count as number,
    lookbackDays,
    batchSize,
    robust: args.flags.has('silent-roots') ? { silentRoots: true } : args.flags.has('robust'),
  };
  const dir = args.values.out;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const streams = scenarioStreams(options);
    for (const s of streams) writeFileSync(join(dir, `${s.name}.ndjson`), formatStream(s.records));
    err.write(`wrote ${options.count} scenarios in ${streams.length} stream(s) to ${dir}\n`);
    return 0;
  }
  const result = await runEval({ ...options, env: process.env });
  const { summary } = result;
  if (args.flags.has('json')) out.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    out.write(
      `scenarios: seed ${seed}${options.robust ? ` (robustness run${args.flags.has('silent-roots') ? ', silent roots' : ''})` : ''}, ${result.count} scenarios, ${result.wallSeconds.toFixed(1)} s\n\n`,
    );
    out.write(table([['all', summary.overall], ...Object.entries(summary.byClass)]));
    out.write(`\nreliability\n${reliabilityTable(summary.reliability)}`);
    if (args.flags.has('misses'))
      for (const o of result.outcomes.filter((x) => !x.top1))
        out.write(
          `MISS ${o.title} (${o.faultClass}) expected ${o.rootService}, got ${o.predicted
            .slice(0, 3)
            .map((p) => `${p.service} ${Math.round(p.confidence * 100)}%`)
            .join(' > ')}\n`,
        );
  }
  const top1 = summary.overall.n ? (100 * summary.overall.top1) / summary.overall.n : 0;
  if (minTop1 !== null && top1 < minTop1) {
    err.write(`top-1 accuracy ${top1.toFixed(1)}% is below the gate of ${minTop1}%\n`);
    return 1;
  }
  return 0;
}

if (import.meta.main) process.exitCode = await scenariosCommand(process.argv.slice(2));
