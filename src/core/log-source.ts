import { type LogLevel, levelRank } from './log-line.ts';

/** The same folding as analyze/text.ts nameKey: case and punctuation do not tell services apart. */
const nameKey = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** One log line read from an outside store (Loki, Elasticsearch) at trigger time. */
export interface RemoteLogLine {
  ts: number;
  service: string;
  level: LogLevel;
  message: string;
  correlationId: string | null;
}

/** What a trigger asks of each source: the window before it, the session's lines and the candidates' warn+. */
export interface LogQuery {
  correlationId: string | null;
  /** Raw service names of the candidates (map names and aliases). */
  services: string[];
  /** Start of the analysis window: the candidates' warn+ lines are read from here. */
  since: number;
  /**
   * Start of the failing session's lines (a cheap, id-filtered read): further back than `since`,
   * so a session that began failing before the window widens it as a local one does. Default `since`.
   */
  sessionSince?: number;
  until: number;
  /** Most lines per query. */
  limit: number;
  signal: AbortSignal;
}

/** A log store TracePulse reads at trigger time. `query` rejects with a SourceError on failure. */
export interface LogSource {
  /** Shown in reports and metrics: "Loki", "Elasticsearch". */
  readonly name: string;
  query(q: LogQuery): Promise<RemoteLogLine[]>;
}

/** How one source answered for one trigger. */
export interface SourceOutcome {
  source: string;
  ok: boolean;
  lines: number;
  /** timeout, down, http_429, http_5xx, bad_answer ... */
  error?: string;
}

/** A source failure with a closed set of codes (never classified by message text). */
export class SourceError extends Error {
  constructor(
    readonly code: 'timeout' | 'down' | 'http' | 'bad_answer',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SourceError';
  }
  /** timeout, down, http_429, http_503, bad_answer. */
  get label(): string {
    return this.code === 'http' ? `http_${this.status}` : this.code;
  }
}

/**
 * Level of a line from its text when the store has no level field: logfmt `level=`, JSON "level",
 * or a leading tag (`ERROR ...`, `[warn] ...`, `E ...` is not guessed). Defaults to info.
 */
export function levelFromText(line: string): LogLevel {
  const m =
    /(?:^|\s)(?:level|lvl|severity)=["']?([A-Za-z]+)/.exec(line) ??
    /"(?:level|lvl|severity|detected_level)"\s*:\s*"([A-Za-z]+)"/.exec(line) ??
    /^\s*[[<(]?([A-Za-z]+)[\]>):]?\s/.exec(line);
  return (m && toLevel(m[1]!)) ?? 'info';
}

/** Maps the many spellings of a level (warning, ERR, crit, panic, trace ...) to ours; null when unknown. */
export function toLevel(raw: string): LogLevel | null {
  switch (raw.toLowerCase()) {
    case 'trace':
    case 'debug':
    case 'dbg':
      return 'debug';
    case 'info':
    case 'information':
    case 'informational':
    case 'notice':
      return 'info';
    case 'warn':
    case 'warning':
    case 'wrn':
      return 'warn';
    case 'error':
    case 'err':
    case 'eror':
      return 'error';
    case 'fatal':
    case 'critical':
    case 'crit':
    case 'panic':
    case 'alert':
    case 'emerg':
    case 'emergency':
      return 'fatal';
    default:
      return null;
  }
}

/**
 * Keeps what a trigger can use from a source's answer: the session's lines (any service, any level)
 * and the candidates' warn+ lines; drops the rest and repeated lines.
 */
export function relevant(
  lines: RemoteLogLine[],
  q: Pick<LogQuery, 'correlationId' | 'services' | 'since' | 'sessionSince' | 'until'>,
) {
  const sessionSince = Math.min(q.since, q.sessionSince ?? q.since);
  const names = new Set(q.services.map(nameKey));
  const seen = new Set<string>();
  const out: RemoteLogLine[] = [];
  for (const l of lines) {
    if (!Number.isFinite(l.ts) || l.ts < sessionSince || l.ts > q.until) continue;
    const correlated =
      q.correlationId !== null &&
      (l.correlationId === q.correlationId || l.message.includes(q.correlationId));
    if (
      !correlated &&
      !(l.ts >= q.since && levelRank[l.level] >= levelRank.warn && names.has(nameKey(l.service)))
    )
      continue;
    const k = `${l.ts}\u0000${l.service}\u0000${l.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(correlated ? { ...l, correlationId: q.correlationId } : l);
  }
  return out;
}

/** One sentence for the report: "Log sources: Loki answered (3 lines); Elasticsearch: timeout, evidence is local only." */
export function describeOutcomes(outcomes: SourceOutcome[]): string {
  if (!outcomes.length) return '';
  const parts = outcomes.map((o) =>
    o.ok ? `${o.source} answered (${o.lines} line${o.lines === 1 ? '' : 's'})` : `${o.source}: ${o.error}`,
  );
  const allFailed = outcomes.every((o) => !o.ok);
  return `Log sources: ${parts.join('; ')}${allFailed ? ', evidence is local only' : ''}.`;
}

/** Labels that name a Loki stream's service, in order, when no service label is configured. */
export const SERVICE_LABELS = ['service_name', 'service', 'app', 'job'] as const;

/** A Loki stream's service: the configured label, else the first of service_name, service, app, job. */
export function streamService(labels: Record<string, string>, serviceLabel?: string): string {
  if (serviceLabel) return labels[serviceLabel] ?? 'unknown';
  for (const l of SERVICE_LABELS) if (labels[l]) return labels[l];
  return 'unknown';
}

/** A nanosecond epoch string to epoch ms (integer division on the string: ns overflow doubles). */
export const nsToMs = (ns: string): number => (ns.length > 6 ? Number(ns.slice(0, -6)) : 0);
