import { levelRank } from '../../core/log-line.ts';
import type { ParsedQuestion } from './intent.ts';
import { type Answer, type AnswerFacts, citer, eventTime, hhmmss } from './types.ts';

const beforeMs = 5 * 60_000;
const afterMs = 60_000;
const shown = 12;

/** "Logs of X around the event": warnings and errors first, then the lines nearest the event. */
export function answerLogs(f: AnswerFacts, q: ParsedQuestion): Answer {
  const service = q.services[0] ?? f.report.service;
  const node = f.graph.services.get(service);
  // Logs carry the name the firmware uses, which may be an alias.
  const names = [service, ...(node?.aliases ?? [])];
  const at = eventTime(f);
  const since = at - (q.lookbackMs ?? beforeMs);
  const lines = f.logs({ services: names, since, until: at + afterMs, limit: 500 });
  const { cite, citations } = citer();
  const window = `${hhmmss(since)}-${hhmmss(at + afterMs)} UTC`;
  if (!lines.length)
    return {
      intent: 'logs',
      text: `No log lines from ${service} between ${window} (the event was at ${hhmmss(at)}).`,
      citations,
      answeredBy: 'local',
    };
  const corr = f.event?.correlationId ?? f.report.correlationId;
  const score = (l: (typeof lines)[number]) =>
    levelRank[l.level] * 10 +
    (corr && l.correlationId === corr ? 15 : 0) -
    Math.abs(at - l.timestamp) / 60_000;
  const picked = [...lines]
    .sort((a, b) => score(b) - score(a))
    .slice(0, shown)
    .sort((a, b) => a.timestamp - b.timestamp);
  const counts = lines.reduce<Record<string, number>>((m, l) => {
    m[l.level] = (m[l.level] ?? 0) + 1;
    return m;
  }, {});
  const text = picked.map((l) => {
    const mark = cite({
      kind: 'log',
      ref: `${l.service}@${new Date(l.timestamp).toISOString()}`,
      text: `${hhmmss(l.timestamp)} ${l.service} ${l.level.toUpperCase()} ${l.message.slice(0, 200)}`,
    });
    const rel =
      l.timestamp <= at
        ? `-${Math.round((at - l.timestamp) / 1000)}s`
        : `+${Math.round((l.timestamp - at) / 1000)}s`;
    return `- ${hhmmss(l.timestamp)} (${rel}) ${l.level.toUpperCase()} ${l.message.slice(0, 200)} ${mark}`;
  });
  const summary = Object.entries(counts)
    .sort((a, b) => levelRank[b[0] as keyof typeof levelRank] - levelRank[a[0] as keyof typeof levelRank])
    .map(([lvl, n]) => `${n} ${lvl}`)
    .join(', ');
  return {
    intent: 'logs',
    text: `${lines.length} line(s) from ${service} between ${window} (${summary}); event at ${hhmmss(at)}. ${
      picked.length < lines.length ? `The ${picked.length} most telling:` : 'All of them:'
    }\n${text.join('\n')}`,
    citations,
    answeredBy: 'local',
  };
}
