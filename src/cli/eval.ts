import { writeFileSync } from 'node:fs';
import { runEval } from '../eval/harness.ts';
import { type Figures, figures, type Outcome } from '../eval/score.ts';
import { faultClasses } from '../eval/types.ts';
import { generateScenarios } from '../eval/generator.ts';
import { scenarioRecords } from '../eval/to-stream.ts';
import { formatStream } from '../replay/stream.ts';
import { intOption, parseArgs, type TextOut } from './args.ts';

export const evalUsage = `usage: tracepulse eval [--seed N] [--count N] [--json] [--per-class] [--per-template] [--misses]
                       [--url URL [--api-key KEY]] [--timeout-ms N] [--min-top1 PERCENT] [--dump FILE]

Generates --count labelled synthetic failure scenarios from --seed (default 1, 300 scenarios) and
replays each through the real pipeline over HTTP: an in-process service on a temporary data dir
(configured from the TRACEPULSE_* environment, e.g. TRACEPULSE_RULES_FILE), or --url. Prints top-1
and top-3 root-service accuracy, change identification accuracy and latency.
  --per-class      figures per fault class      --per-template  figures per scenario template
  --misses         list scenarios whose top hypothesis is wrong
  --min-top1 P     exit 1 when top-1 accuracy is below P percent (a CI gate)
  --dump FILE      also write the scenarios as a replay stream (NDJSON with labels) and exit
Against --url, the eval replaces the service's system map: use a scratch instance.`;

/** `tracepulse eval`: returns the exit code. */
export async function evalCommand(
  argv: string[],
  out: TextOut = process.stdout,
  err: TextOut = process.stderr,
): Promise<number> {
  const args = parseArgs(argv, {
    values: ['seed', 'count', 'url', 'api-key', 'timeout-ms', 'min-top1', 'dump'],
    flags: ['json', 'per-class', 'per-template', 'misses'],
  });
  if (!args.ok) {
    err.write(`${args.error}\n${evalUsage}\n`);
    return 2;
  }
  const seed = intOption(args.values, 'seed', 1);
  const count = intOption(args.values, 'count', 300);
  const timeout = intOption(args.values, 'timeout-ms', 10_000);
  const minTop1 = args.values['min-top1'] === undefined ? null : Number(args.values['min-top1']);
  for (const v of [seed, count, timeout])
    if (typeof v === 'string') {
      err.write(`${v}\n`);
      return 2;
    }
  if (minTop1 !== null && !(minTop1 >= 0 && minTop1 <= 100)) {
    err.write('--min-top1 must be a percentage between 0 and 100\n');
    return 2;
  }
  if (args.positionals.length) {
    err.write(`unexpected argument '${args.positionals[0]}'\n${evalUsage}\n`);
    return 2;
  }
  const dump = args.values.dump;
  if (dump) {
    const scenarios = generateScenarios({ seed: seed as number, count: count as number });
    const day = 86_400_000;
    const anchor = Math.floor(Date.now() / day) * day - (scenarios.length + 2) * 10 * day;
    const text = scenarios.map((s, i) => formatStream(scenarioRecords(s, anchor + i * 10 * day))).join('');
    writeFileSync(dump, text);
    err.write(`wrote ${scenarios.length} scenarios to ${dump}\n`);
    return 0;
  }

  const result = await runEval({
    seed: seed as number,
    count: count as number,
    url: args.values.url,
    apiKey: args.values['api-key'] ?? process.env.TRACEPULSE_API_KEY,
    reportTimeoutMs: timeout as number,
    onOutcome: (_o, done, total) => {
      if (!args.flags.has('json') && err.isTTY) err.write(`\r${done}/${total}`);
    },
  });
  if (!args.flags.has('json') && err.isTTY) err.write('\r');
  const top1 = result.summary.overall.n ? (100 * result.summary.overall.top1) / result.summary.overall.n : 0;

  if (args.flags.has('json')) out.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    out.write(
      `tracepulse eval: seed ${result.seed}, ${result.count} scenarios, ${result.wallSeconds.toFixed(1)} s` +
        `${args.values.url ? ` against ${args.values.url}` : ' (in-process service)'}\n\n`,
    );
    const rows: Array<[string, Figures]> = [['all', result.summary.overall]];
    if (args.flags.has('per-class'))
      for (const cls of faultClasses) {
        const f = result.summary.byClass[cls];
        if (f) rows.push([cls, f]);
      }
    if (args.flags.has('per-template'))
      for (const [t, f] of Object.entries(result.summary.byTemplate)) rows.push([t, f]);
    out.write(table(rows));
    if (args.flags.has('misses')) out.write(misses(result.outcomes));
  }
  if (minTop1 !== null && top1 < minTop1) {
    err.write(`top-1 accuracy ${top1.toFixed(1)}% is below the gate of ${minTop1}%\n`);
    return 1;
  }
  return 0;
}

const pct = (a: number, n: number) => (n ? `${((100 * a) / n).toFixed(1)}%` : '-');
const ms = (v: number | null) => (v === null ? '-' : v < 10 ? v.toFixed(1) : String(Math.round(v)));

/** Fixed-width table of figures, one row per group. */
export function table(rows: Array<[string, Figures]>): string {
  const head = [
    'group',
    'n',
    'top-1',
    'top-3',
    'change',
    'latency p50/p99 ms',
    'wall p50/p99 ms',
    'no report',
  ];
  const body = rows.map(([name, f]) => [
    name,
    String(f.n),
    pct(f.top1, f.n),
    pct(f.top3, f.n),
    f.changeN ? `${pct(f.changeHits, f.changeN)} of ${f.changeN}` : '-',
    `${ms(f.latencyP50)} / ${ms(f.latencyP99)}`,
    `${ms(f.wallP50)} / ${ms(f.wallP99)}`,
    String(f.n - f.reported),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}\n`;
  return line(head) + body.map(line).join('');
}

function misses(outcomes: Outcome[]): string {
  const wrong = outcomes.filter((o) => !o.top1);
  const lines = wrong.map(
    (o) =>
      `${o.scenario}  ${o.template} (${o.faultClass}): expected ${o.rootService}, got ${o.predicted.join(' > ') || '(no report)'}` +
      `${o.traits.length ? `  [${o.traits.filter((t) => !t.startsWith('log-alias')).join(', ')}]` : ''}`,
  );
  const f = figures(wrong);
  return `\nmisses (${f.n}):\n${lines.join('\n')}\n`;
}
