import type { Report } from '../core/report.ts';
import { createFeedClient } from '../replay/client.ts';
import { replayRecords, type TriggerResult } from '../replay/replayer.ts';
import { parseStream } from '../replay/stream.ts';
import { type FeedTarget, remoteTarget } from '../replay/target.ts';
import { startLocalTarget } from './local-target.ts';
import { intOption, parseArgs, readInputFile, type TextOut } from './args.ts';

export const replayUsage = `usage: tracepulse replay FILE.ndjson [--json | --brief] [--url URL [--api-key KEY]] [--timeout-ms N]

Feeds a recorded stream (one JSON object per line: {"type":"map"|"change"|"log"|"event"|"label", ...})
through the real pipeline and prints the report of every trigger. Without --url an in-process service
runs on a temporary data dir with the TRACEPULSE_* settings of this shell (rules file, look-back, map
file when the stream has no map); GitHub, Slack, mail, LLM and MQTT settings are ignored so the run
depends only on the stream. --brief prints one tab-separated line per trigger (line, event type,
service, error code, top service, confidence, blamed change) for diffing two runs, e.g. before and
after setting TRACEPULSE_RULES_FILE. See docs/accuracy.md for the format.`;

/** `tracepulse replay`: returns the exit code (1 when a trigger got no report). */
export async function replayCommand(
  argv: string[],
  out: TextOut = process.stdout,
  err: TextOut = process.stderr,
): Promise<number> {
  const args = parseArgs(argv, { values: ['url', 'api-key', 'timeout-ms'], flags: ['json', 'brief'] });
  if (!args.ok) {
    err.write(`${args.error}\n${replayUsage}\n`);
    return 2;
  }
  const timeout = intOption(args.values, 'timeout-ms', 10_000);
  if (typeof timeout === 'string') {
    err.write(`${timeout}\n`);
    return 2;
  }
  const [file, ...extra] = args.positionals;
  if (!file || extra.length) {
    err.write(`${replayUsage}\n`);
    return 2;
  }
  const text = readInputFile(file, err);
  if (text === null) return 1;
  const parsed = parseStream(text);
  if (!parsed.ok) {
    for (const p of parsed.problems) err.write(`${file}: ${p}\n`);
    return 1;
  }
  const target: FeedTarget = args.values.url
    ? remoteTarget({ url: args.values.url, apiKey: args.values['api-key'] ?? process.env.TRACEPULSE_API_KEY })
    : await startLocalTarget();
  const json = args.flags.has('json');
  const brief = args.flags.has('brief');
  if (json && brief) {
    err.write('--json and --brief exclude each other\n');
    return 2;
  }
  let shown = 0;
  let results: TriggerResult[];
  let counts: Awaited<ReturnType<typeof replayRecords>>['counts'];
  try {
    ({ results, counts } = await replayRecords(parsed.records, createFeedClient(target), {
      reportTimeoutMs: timeout,
      onTrigger: json ? undefined : (r) => out.write(brief ? briefLine(r) : describeTrigger(r, ++shown)),
    }));
  } finally {
    await target.stop();
  }
  const missing = results.filter((r) => !r.report).length;
  if (json) out.write(`${JSON.stringify({ counts, results }, null, 2)}\n`);
  else if (!brief) out.write(footer(results, counts));
  return missing ? 1 : 0;
}

/** One tab-separated line per trigger, stable across runs (no ids, no timings). */
function briefLine(r: TriggerResult): string {
  const top = [...(r.report?.hypotheses ?? [])].sort((a, b) => a.rank - b.rank)[0];
  const change = top?.change ? (top.change.sha ?? top.change.id ?? '') : '';
  return `${[r.line, r.eventType, r.service, r.errorCode, top?.service ?? '(no report)', top ? top.confidence.toFixed(2) : '', change].join('\t')}\n`;
}

function describeTrigger(r: TriggerResult, n: number): string {
  const head = `#${n} (line ${r.line}) ${r.eventType} on ${r.service}: ${r.errorCode}${r.correlationId ? ` [${r.correlationId}]` : ''}\n`;
  if (!r.report) return `${head}   no report within the timeout\n\n`;
  const rep: Report = r.report;
  const lines = [
    head,
    `   report ${rep.id}: ${rep.summary}\n`,
    `   latency ${rep.latencyMs} ms (wall ${Math.round(r.wallMs)} ms), source ${rep.source}${rep.incidentId ? `, incident ${rep.incidentId}` : ''}\n`,
  ];
  for (const h of [...rep.hypotheses].sort((a, b) => a.rank - b.rank).slice(0, 3)) {
    const change = h.change
      ? `  change ${h.change.sha ?? h.change.id}: ${h.change.message.split('\n')[0]}`
      : '';
    lines.push(`   ${h.rank}. ${h.service} (${Math.round(h.confidence * 100)}%)${change}\n`);
    for (const reason of h.reasons.slice(0, 3)) lines.push(`        - ${reason}\n`);
  }
  if (r.label) {
    const top = [...rep.hypotheses].sort((a, b) => a.rank - b.rank)[0];
    const ok = top?.service === r.label.rootService;
    const changeOk =
      r.label.changeId === undefined || r.label.changeId === null
        ? ''
        : top?.change && [top.change.id, top.change.sha].includes(r.label.changeId)
          ? ', change matches'
          : `, expected change ${r.label.changeId}`;
    lines.push(`   expected ${r.label.rootService}: ${ok ? 'top-1 match' : 'MISS'}${changeOk}\n`);
  }
  return `${lines.join('')}\n`;
}

function footer(
  results: TriggerResult[],
  counts: { maps: number; changes: number; logs: number; events: number },
): string {
  const labelled = results.filter((r) => r.label);
  const top1 = labelled.filter((r) => {
    const top = [...(r.report?.hypotheses ?? [])].sort((a, b) => a.rank - b.rank)[0];
    return top?.service === r.label?.rootService;
  }).length;
  const missing = results.filter((r) => !r.report).length;
  return (
    `${counts.maps} maps, ${counts.changes} changes, ${counts.logs} log lines, ${counts.events} events; ` +
    `${plural(results.length, 'trigger')}, ${plural(results.length - missing, 'report')}${missing ? `, ${missing} without a report` : ''}` +
    `${labelled.length ? `; top-1 ${top1}/${labelled.length} against the stream's labels` : ''}\n`
  );
}

/** "1 report", "2 reports". */
const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
