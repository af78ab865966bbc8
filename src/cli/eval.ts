import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createFeedClient } from '../replay/client.ts';
import { replayRecords } from '../replay/replayer.ts';
import { type Figures, type Outcome, type ReliabilityBin, scoreTrigger, summarise } from '../replay/score.ts';
import { parseStream } from '../replay/stream.ts';
import { type FeedTarget, remoteTarget } from '../replay/target.ts';
import { startLocalTarget } from './local-target.ts';
import { intOption, parseArgs, readInputFile, type TextOut } from './args.ts';

export const evalUsage = `usage: tracepulse eval PATH... [--json] [--misses] [--cases] [--min-top1 PERCENT]
                       [--timeout-ms N] [--url URL [--api-key KEY]]

Scores recorded cases: every PATH is a replay stream (.ndjson) or a folder of them (searched
recursively). Each case is replayed through the real pipeline into a fresh in-process service
(temporary data dir, configured from the TRACEPULSE_* environment, e.g. TRACEPULSE_RULES_FILE), or
into --url (a scratch instance: the case replaces its map). Every trigger with a label is scored:
top-1 and top-3 root service, the blamed change, the Brier score of the confidences and their
reliability by decile, overall and per fault class.
  --cases          one line per labelled trigger     --misses   only the triggers whose top-1 is wrong
  --min-top1 P     exit 1 when top-1 accuracy is below P percent (a CI gate)`;

/** The .ndjson files under the given paths, in a stable order. */
export function caseFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory())
      for (const name of readdirSync(p).sort()) {
        const child = join(p, name);
        if (statSync(child).isDirectory() || name.endsWith('.ndjson')) walk(child);
      }
    else out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

/** `tracepulse eval`: returns the exit code. */
export async function evalCommand(
  argv: string[],
  out: TextOut = process.stdout,
  err: TextOut = process.stderr,
): Promise<number> {
  const args = parseArgs(argv, {
    values: ['url', 'api-key', 'timeout-ms', 'min-top1'],
    flags: ['json', 'misses', 'cases'],
  });
  if (!args.ok) {
    err.write(`${args.error}\n${evalUsage}\n`);
    return 2;
  }
  const timeout = intOption(args.values, 'timeout-ms', 10_000);
  if (typeof timeout === 'string') {
    err.write(`${timeout}\n`);
    return 2;
  }
  const minTop1 = args.values['min-top1'] === undefined ? null : Number(args.values['min-top1']);
  if (minTop1 !== null && !(minTop1 >= 0 && minTop1 <= 100)) {
    err.write('--min-top1 must be a percentage between 0 and 100\n');
    return 2;
  }
  if (!args.positionals.length) {
    err.write(`${evalUsage}\n`);
    return 2;
  }
  let files: string[];
  try {
    files = caseFiles(args.positionals);
  } catch (e) {
    err.write(`${(e as Error).message}\n`);
    return 1;
  }
  const started = performance.now();
  const outcomes: Outcome[] = [];
  let unlabelled = 0;
  const unmatchedLabels: UnmatchedLabel[] = [];
  const target = args.values.url
    ? { url: args.values.url, apiKey: args.values['api-key'] ?? process.env.TRACEPULSE_API_KEY }
    : null;
  for (const file of files) {
    const scored = await scoreCaseFile(file, target, timeout, err);
    if (!scored) return 1;
    outcomes.push(...scored.outcomes);
    unlabelled += scored.unlabelled;
    unmatchedLabels.push(...scored.unmatched);
  }
  const summary = summarise(outcomes);
  const wallSeconds = (performance.now() - started) / 1000;
  if (args.flags.has('json'))
    out.write(`${JSON.stringify({ files: files.length, summary, outcomes, unmatchedLabels }, null, 2)}\n`);
  else {
    out.write(
      `tracepulse eval: ${files.length} case file(s), ${outcomes.length} labelled trigger(s)` +
        `${unlabelled ? ` (${unlabelled} without a label, not scored)` : ''}` +
        `${unmatchedLabels.length ? ` (${unmatchedLabels.length} label${unmatchedLabels.length > 1 ? 's' : ''} with no trigger, not scored)` : ''}` +
        `, ${wallSeconds.toFixed(1)} s\n\n`,
    );
    out.write(table([['all', summary.overall], ...Object.entries(summary.byClass)]));
    out.write(
      `\nreliability (every shown hypothesis, by stated confidence)\n${reliabilityTable(summary.reliability)}`,
    );
    if (args.flags.has('cases') || args.flags.has('misses'))
      out.write(`\n${caseLines(outcomes.filter((o) => args.flags.has('cases') || !o.top1))}`);
  }
  const top1 = outcomes.length ? (100 * summary.overall.top1) / outcomes.length : 0;
  if (minTop1 !== null && top1 < minTop1) {
    err.write(`top-1 accuracy ${top1.toFixed(1)}% is below the gate of ${minTop1}%\n`);
    return 1;
  }
  return 0;
}

/** A label whose correlationId no trigger of its file carried: not scored. */
interface UnmatchedLabel {
  file: string;
  correlationId: string;
}

/**
 * Replays one case file into a fresh in-process service (or the remote one) and scores its labelled
 * triggers; null (the problems written) when the file cannot be read or is not a valid stream.
 */
async function scoreCaseFile(
  file: string,
  remote: { url: string; apiKey: string | undefined } | null,
  timeoutMs: number,
  err: TextOut,
): Promise<{ outcomes: Outcome[]; unlabelled: number; unmatched: UnmatchedLabel[] } | null> {
  const text = readInputFile(file, err);
  if (text === null) return null;
  const parsed = parseStream(text);
  if (!parsed.ok) {
    for (const p of parsed.problems) err.write(`${file}: ${p}\n`);
    return null;
  }
  const target: FeedTarget = remote ? remoteTarget(remote) : await startLocalTarget({ ownMap: true });
  const outcomes: Outcome[] = [];
  let unlabelled = 0;
  const unmatched: UnmatchedLabel[] = [];
  try {
    const { results } = await replayRecords(parsed.records, createFeedClient(target), {
      reportTimeoutMs: timeoutMs,
    });
    const name = relative(process.cwd(), file) || file;
    for (const r of results) {
      const o = scoreTrigger(name, r);
      if (o) outcomes.push(o);
      else unlabelled++;
    }
    // A label no trigger answered would silently shrink the benchmark: name it.
    const answered = new Set(results.map((r) => r.label?.correlationId));
    for (const r of parsed.records) {
      if (r.type !== 'label' || answered.has(r.label.correlationId)) continue;
      unmatched.push({ file: name, correlationId: r.label.correlationId });
      err.write(
        `${name}: label ${r.label.correlationId} matches no trigger (no event with that correlationId is a trigger: priority high, or a trigger type of the map without a priority)\n`,
      );
    }
  } finally {
    await target.stop();
  }
  return { outcomes, unlabelled, unmatched };
}

const pct = (a: number, n: number) => (n ? `${((100 * a) / n).toFixed(1)}%` : '-');
const ms = (v: number | null) => (v === null ? '-' : v < 10 ? v.toFixed(1) : String(Math.round(v)));

function fixed(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}\n`;
  return line(head) + body.map(line).join('');
}

/** Fixed-width table of figures, one row per group. */
export function table(rows: Array<[string, Figures]>): string {
  return fixed(
    ['group', 'n', 'top-1', 'top-3', 'change', 'brier', 'latency p50/p99 ms', 'no report'],
    rows.map(([name, f]) => [
      name,
      String(f.n),
      pct(f.top1, f.n),
      pct(f.top3, f.n),
      f.changeN ? `${pct(f.changeHits, f.changeN)} of ${f.changeN}` : '-',
      f.brier === null ? '-' : f.brier.toFixed(3),
      `${ms(f.latencyP50)} / ${ms(f.latencyP99)}`,
      String(f.n - f.reported),
    ]),
  );
}

export function reliabilityTable(bins: ReliabilityBin[]): string {
  return fixed(
    ['confidence', 'n', 'mean stated', 'right'],
    bins
      .filter((b) => b.n)
      .map((b) => [
        `${Math.round(b.from * 100)}-${Math.round(b.to * 100)}%`,
        String(b.n),
        pct(b.meanConfidence ?? 0, 1),
        pct(b.accuracy ?? 0, 1),
      ]),
  );
}

function caseLines(outcomes: Outcome[]): string {
  return outcomes
    .map(
      (o) =>
        `${o.top1 ? 'ok  ' : 'MISS'} ${o.caseFile}:${o.line} (${o.faultClass}) expected ${o.rootService}` +
        `${o.expectedChange ? ` / ${o.expectedChange}` : ''}, got ${
          o.predicted
            .slice(0, 3)
            .map((p) => `${p.service} ${Math.round(p.confidence * 100)}%`)
            .join(' > ') || '(no report)'
        }${o.changeHit === false ? `, change ${o.predictedChange ?? 'none'}` : ''}\n`,
    )
    .join('');
}
