import type { Evidence, Hypothesis } from '../core/report.ts';
import type { SessionStory } from '../core/session-timeline.ts';
import type { NoticeEnvelope } from './sink.ts';

/** What a human alert says about a report; Slack blocks and both email bodies are rendered from it. */
export interface ReportDigest {
  /** e.g. "MREC4OverCurrentFailure on evse_manager_2". */
  title: string;
  kindLabel: string;
  stationId: string | null;
  event: string;
  top: {
    service: string;
    where: string | null;
    confidencePct: number;
    reasons: string[];
  } | null;
  change: { label: string; url: string | null; author: string | null } | null;
  evidence: string[];
  summary: string;
  reportUrl: string | null;
  revision: number;
  source: string;
  incident: { id: string; count: number } | null;
  /** The trigger's charging session in one line (its steps, span and gaps), when the report has one. */
  session: string | null;
  /** Extra lines for revisions (LLM explanation, next steps). */
  explanation: string | null;
  nextSteps: string[];
}

const maxEvidence = 4;

/** The strongest evidence lines of the top hypothesis, by weight. */
function strongest(h: Hypothesis | undefined): string[] {
  if (!h) return [];
  return [...h.evidence]
    .sort((a: Evidence, b: Evidence) => b.weight - a.weight)
    .slice(0, maxEvidence)
    .map((e) => e.text);
}

/** Builds the digest of a notice; `publicUrl` without a trailing slash or null. */
export function digestOf(env: NoticeEnvelope, publicUrl: string | null): ReportDigest {
  const r = env.report;
  const top = r.hypotheses[0];
  const latest = r.revisions?.find((x) => x.revision === r.revision);
  const change = top?.change;
  return {
    title: `${r.errorCode} on ${r.service}`,
    kindLabel:
      env.kind === 'created'
        ? 'New report'
        : env.kind === 'revised'
          ? `Refined (revision ${r.revision}, ${r.source})`
          : `Incident growing: ${env.incident?.count ?? '?'} occurrences`,
    stationId: r.stationId,
    event: `${r.eventType} ${r.errorCode} from ${r.service}`,
    top: top
      ? {
          service: top.service,
          where: [top.file, top.function].filter(Boolean).join(' ') || null,
          confidencePct: Math.round(top.confidence * 100),
          reasons: top.reasons.slice(0, 3),
        }
      : null,
    change: change
      ? {
          label: `${change.sha ? change.sha.slice(0, 7) : (change.id ?? 'change')}: ${firstLine(change.message)}`,
          url: change.url ?? null,
          author: change.author ?? null,
        }
      : null,
    evidence: strongest(top),
    summary: r.summary,
    reportUrl: publicUrl ? `${publicUrl}/chat/r/${encodeURIComponent(r.id)}` : null,
    revision: r.revision,
    source: r.source,
    incident: env.incident ?? (r.incidentId ? { id: r.incidentId, count: 0 } : null),
    session: r.session ? sessionLine(r.session) : null,
    explanation: latest?.explanation ?? null,
    nextSteps: latest?.nextSteps ?? [],
  };
}

const hms = (iso: string) => iso.slice(11, 19);
const gapLabel = { missing_response: 'no response', meter_values_stopped: 'MeterValues stopped' } as const;

/** "cp002:…: 21 steps 14:10:00–14:24:42 UTC; 2 gaps: MeterValues stopped at 14:15:06, no response at 14:15:36". */
export function sessionLine(s: SessionStory): string {
  const steps = s.entries.length + s.omitted;
  const span = s.start && s.end ? ` ${hms(s.start)}–${hms(s.end)} UTC` : '';
  const gaps = s.gaps.length
    ? `; ${s.gaps.length} gap${s.gaps.length > 1 ? 's' : ''}: ${s.gaps
        .slice(0, 3)
        .map((g) => `${gapLabel[g.kind]} at ${hms(g.time)}`)
        .join(', ')}${s.gaps.length > 3 ? ', …' : ''}`
    : '; no gaps';
  return `${s.correlationId}: ${steps} step${steps === 1 ? '' : 's'}${span}${gaps}`;
}

const firstLine = (s: string) => {
  const line = s.split('\n')[0] ?? '';
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
};

/** Plain-text rendering (email text part, Slack fallback text). */
export function digestText(d: ReportDigest): string {
  const lines = [`${d.kindLabel}: ${d.title}${d.stationId ? ` at station ${d.stationId}` : ''}`, ''];
  lines.push(`Event: ${d.event}`);
  if (d.top)
    lines.push(
      `Top hypothesis: ${d.top.service}${d.top.where ? ` (${d.top.where})` : ''}, confidence ${d.top.confidencePct}%`,
    );
  if (d.change)
    lines.push(
      `Change: ${d.change.label}${d.change.author ? ` by ${d.change.author}` : ''}${d.change.url ? ` <${d.change.url}>` : ''}`,
    );
  if (d.session) lines.push(`Session: ${d.session}`);
  lines.push('', d.summary);
  if (d.explanation) lines.push('', d.explanation);
  if (d.nextSteps.length) lines.push('', 'Next steps:', ...d.nextSteps.map((s) => `  - ${s}`));
  if (d.evidence.length) lines.push('', 'Evidence:', ...d.evidence.map((e) => `  - ${e}`));
  if (d.reportUrl) lines.push('', `Report: ${d.reportUrl}`);
  return `${lines.join('\n')}\n`;
}
