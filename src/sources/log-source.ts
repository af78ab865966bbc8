import { nameKey } from '../analyze/text.ts';
import { type LogLevel, levelRank } from '../core/log-line.ts';

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
  since: number;
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
 * Fetches with the trigger's deadline; maps network failures and non-2xx answers to SourceError and
 * returns the parsed JSON body (bounded: at most `maxBytes`).
 */
export async function fetchJson(
  url: string,
  init: RequestInit & { signal: AbortSignal },
  maxBytes = 8 * 1024 * 1024,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (init.signal.aborted) throw new SourceError('timeout', 'no answer before the deadline');
    throw new SourceError('down', String(err));
  }
  try {
    if (!res.ok) throw new SourceError('http', `HTTP ${res.status}`, res.status);
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > maxBytes) throw new SourceError('bad_answer', `answer of ${len} bytes is too large`);
    const text = await res.text();
    if (text.length > maxBytes) throw new SourceError('bad_answer', 'answer is too large');
    try {
      return JSON.parse(text);
    } catch {
      throw new SourceError('bad_answer', 'answer is not JSON');
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    if (init.signal.aborted) throw new SourceError('timeout', 'no answer before the deadline');
    throw new SourceError('down', String(err));
  } finally {
    // Do not leave a half-read body holding the connection.
    if (!res.bodyUsed) await res.body?.cancel().catch(() => {});
  }
}

/** Splits user:password out of a URL: the clean URL and a Basic Authorization header, if any. */
export function splitCredentials(raw: string): { base: string; authorization?: string } {
  const u = new URL(raw);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const base = u.toString().replace(/\/+$/, '');
  if (!user && !pass) return { base };
  return { base, authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
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
  q: Pick<LogQuery, 'correlationId' | 'services' | 'since' | 'until'>,
) {
  const names = new Set(q.services.map(nameKey));
  const seen = new Set<string>();
  const out: RemoteLogLine[] = [];
  for (const l of lines) {
    if (!Number.isFinite(l.ts) || l.ts < q.since || l.ts > q.until) continue;
    const correlated =
      q.correlationId !== null &&
      (l.correlationId === q.correlationId || l.message.includes(q.correlationId));
    if (!correlated && !(levelRank[l.level] >= levelRank.warn && names.has(nameKey(l.service)))) continue;
    const k = `${l.ts}\u0000${l.service}\u0000${l.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(correlated ? { ...l, correlationId: q.correlationId } : l);
  }
  return out;
}

/**
 * Asks every source in parallel, each bounded by `deadlineMs`; a slow, failing or garbled source
 * costs at most the deadline and yields no lines, and its outcome says why.
 */
export async function queryLogSources(
  sources: readonly LogSource[],
  q: Omit<LogQuery, 'signal'>,
  deadlineMs: number,
): Promise<{ lines: RemoteLogLine[]; outcomes: SourceOutcome[] }> {
  const results = await Promise.all(
    sources.map(async (s): Promise<{ lines: RemoteLogLine[]; outcome: SourceOutcome }> => {
      const ctrl = new AbortController();
      let timer: ReturnType<typeof setTimeout> | undefined;
      // The race, not only the abort, bounds the wait: a source must not hold the trigger past its deadline.
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          ctrl.abort();
          reject(new SourceError('timeout', 'no answer before the deadline'));
        }, deadlineMs);
      });
      try {
        const lines = relevant(await Promise.race([s.query({ ...q, signal: ctrl.signal }), late]), q);
        return { lines, outcome: { source: s.name, ok: true, lines: lines.length } };
      } catch (err) {
        const error = err instanceof SourceError ? err.label : 'bad_answer';
        return { lines: [], outcome: { source: s.name, ok: false, lines: 0, error } };
      } finally {
        clearTimeout(timer);
        ctrl.abort();
      }
    }),
  );
  return { lines: results.flatMap((r) => r.lines), outcomes: results.map((r) => r.outcome) };
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
