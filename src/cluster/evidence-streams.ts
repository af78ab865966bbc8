import { type LogLine, levelRank } from '../core/log-line.ts';
import {
  type LogQuery,
  type LogSource,
  type RemoteLogLine,
  SourceError,
  toLevel,
} from '../core/log-source.ts';
import type { DebugEvent } from '../core/event.ts';
import type { EventQuery, EventSource, RemoteEvent } from '../core/event-source.ts';
import type { Metrics } from '../core/metrics.ts';
import type { RedisLink } from './redis-link.ts';

/** The same folding as analyze/text.ts nameKey: case and punctuation do not tell services apart. */
const nameKey = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Streams outlive the longest evidence window (an hour) a little. */
const STREAM_TTL_MS = 75 * 60_000;
const MAX_BUFFER = 50_000;
const MAX_MESSAGE = 4096;

/**
 * The window evidence every instance can read: each committed log line is appended to
 * `<prefix>ev:corr:<correlationId>` (the session's lines, any level) and, when warn or worse, to
 * `<prefix>ev:svc:<service>` — exactly the two kinds of lines a trigger reads (core/log-source.ts
 * `relevant`). Streams are capped (MAXLEN ~) and expire when unused. Appends never hold an
 * acknowledgement: they are buffered (bounded, counted) and sent after the commit.
 * Events (every priority) go the same way to `<prefix>ev:evcorr:<correlationId>` and
 * `<prefix>ev:evsvc:<service>`: the failing session's events and the candidates' events.
 */
export interface EvidenceStreams {
  /** Called after `lines` are committed here. */
  append(lines: readonly LogLine[]): void;
  /** Called after `event` is committed here (not for a redelivered id). */
  appendEvent(event: DebugEvent): void;
  /** Reads other instances' lines for a trigger (behind the LogSource interface of Loki and ES). */
  source: LogSource;
  /** Reads other instances' events for a trigger. */
  events: EventSource;
  state(): { buffered: number; bufferedEvents: number; lastFlushLagMs: number | null };
}

export function createEvidenceStreams(deps: {
  link: RedisLink;
  instanceId: string;
  maxLen: number;
  metrics: Metrics;
  now: () => number;
}): EvidenceStreams {
  const { link, metrics } = deps;
  const corrKey = (c: string) => `${link.prefix}ev:corr:${c}`;
  const svcKey = (s: string) => `${link.prefix}ev:svc:${nameKey(s)}`;
  const evCorrKey = (c: string) => `${link.prefix}ev:evcorr:${c}`;
  const evSvcKey = (s: string) => `${link.prefix}ev:evsvc:${nameKey(s)}`;
  let buffer: Array<{ line: LogLine; at: number }> = [];
  let eventBuffer: Array<{ event: DebugEvent; at: number }> = [];
  let scheduled = false;
  let lastFlushLagMs: number | null = null;
  metrics.describe(
    'tracepulse_cluster_evidence_lines_total',
    'Log lines appended to the shared evidence streams',
  );
  metrics.describe(
    'tracepulse_cluster_evidence_dropped_total',
    'Log lines not shared (kept locally only), by reason: redis_down, buffer_full, error',
  );
  metrics.describe(
    'tracepulse_cluster_evidence_events_total',
    'Events appended to the shared evidence streams',
  );
  metrics.describe(
    'tracepulse_cluster_evidence_events_dropped_total',
    'Events not shared (kept locally only), by reason: redis_down, buffer_full, error',
  );
  const schedule = () => {
    if (!scheduled && (buffer.length || eventBuffer.length)) {
      scheduled = true;
      setImmediate(() => void flush());
    }
  };

  const flush = async () => {
    scheduled = false;
    await Promise.all([flushLines(), flushEvents()]);
  };

  const flushEvents = async () => {
    const batch = eventBuffer;
    eventBuffer = [];
    if (!batch.length) return;
    if (!link.connected()) {
      metrics.inc('tracepulse_cluster_evidence_events_dropped_total', { reason: 'redis_down' }, batch.length);
      return;
    }
    const touched = new Set<string>();
    const sends: Promise<unknown>[] = [];
    const cap = String(deps.maxLen);
    for (const { event: e } of batch) {
      const fields = [
        'i',
        e.id,
        't',
        String(e.timestamp),
        'y',
        e.eventType,
        's',
        e.service,
        'e',
        e.errorCode,
        'm',
        e.message === null ? '' : e.message.slice(0, MAX_MESSAGE),
        'n',
        e.message === null ? '1' : '0',
        'c',
        e.correlationId ?? '',
        'o',
        deps.instanceId,
      ];
      const keys = [evSvcKey(e.service)];
      if (e.correlationId) keys.push(evCorrKey(e.correlationId));
      for (const k of keys) {
        touched.add(k);
        sends.push(link.send('XADD', [k, 'MAXLEN', '~', cap, '*', ...fields]));
      }
    }
    for (const k of touched) sends.push(link.send('PEXPIRE', [k, String(STREAM_TTL_MS)]));
    const results = await Promise.allSettled(sends);
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed) metrics.inc('tracepulse_cluster_evidence_events_dropped_total', { reason: 'error' }, failed);
    metrics.inc('tracepulse_cluster_evidence_events_total', undefined, batch.length);
    lastFlushLagMs = deps.now() - batch[0]!.at;
  };

  const flushLines = async () => {
    const batch = buffer;
    buffer = [];
    if (!batch.length) return;
    if (!link.connected()) {
      metrics.inc('tracepulse_cluster_evidence_dropped_total', { reason: 'redis_down' }, batch.length);
      return;
    }
    const touched = new Set<string>();
    const sends: Promise<unknown>[] = [];
    const cap = String(deps.maxLen);
    for (const { line } of batch) {
      const fields = [
        't',
        String(line.timestamp),
        's',
        line.service,
        'l',
        line.level,
        'm',
        line.message.slice(0, MAX_MESSAGE),
        'c',
        line.correlationId ?? '',
        'o',
        deps.instanceId,
      ];
      const keys: string[] = [];
      if (line.correlationId) keys.push(corrKey(line.correlationId));
      if (levelRank[line.level] >= levelRank.warn) keys.push(svcKey(line.service));
      for (const k of keys) {
        touched.add(k);
        // Bun pipelines commands sent in the same tick.
        sends.push(link.send('XADD', [k, 'MAXLEN', '~', cap, '*', ...fields]));
      }
    }
    for (const k of touched) sends.push(link.send('PEXPIRE', [k, String(STREAM_TTL_MS)]));
    const results = await Promise.allSettled(sends);
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed) metrics.inc('tracepulse_cluster_evidence_dropped_total', { reason: 'error' }, failed);
    metrics.inc('tracepulse_cluster_evidence_lines_total', undefined, batch.length);
    lastFlushLagMs = deps.now() - batch[0]!.at;
  };

  const source: LogSource = {
    name: 'Redis (other instances)',
    async query(q: LogQuery): Promise<RemoteLogLine[]> {
      if (!link.connected()) throw new SourceError('down', 'Redis is not connected');
      const keys = new Set<string>();
      if (q.correlationId) keys.add(corrKey(q.correlationId));
      for (const s of q.services) keys.add(svcKey(s));
      // Entry ids are arrival times; a line arrives after it is written, so ids from `since` on cover the window.
      const answers = await Promise.all(
        [...keys].map((k) =>
          link.send('XREVRANGE', [k, '+', String(Math.max(0, q.since)), 'COUNT', String(q.limit)]),
        ),
      ).catch((err) => {
        throw new SourceError('down', String(err));
      });
      const out: RemoteLogLine[] = [];
      for (const entries of answers) {
        if (!Array.isArray(entries)) continue;
        for (const entry of entries as Array<[string, string[]]>) {
          const f = fieldsOf(entry[1]);
          if (f.o === deps.instanceId) continue; // already in the local store
          const ts = Number(f.t);
          if (!Number.isFinite(ts) || ts > q.until) continue;
          out.push({
            ts,
            service: f.s ?? 'unknown',
            level: toLevel(f.l ?? '') ?? 'info',
            message: f.m ?? '',
            correlationId: f.c ? f.c : null,
          });
        }
      }
      return out;
    },
  };

  const events: EventSource = {
    name: 'Redis (other instances)',
    async query(q: EventQuery): Promise<RemoteEvent[]> {
      if (!link.connected()) throw new SourceError('down', 'Redis is not connected');
      const keys = new Map<string, number>();
      for (const s of q.services) keys.set(evSvcKey(s), q.since);
      if (q.correlationId) keys.set(evCorrKey(q.correlationId), Math.min(q.since, q.sessionSince));
      const answers = await Promise.all(
        [...keys].map(([k, from]) =>
          link.send('XREVRANGE', [k, '+', String(Math.max(0, from)), 'COUNT', String(q.limit)]),
        ),
      ).catch((err) => {
        throw new SourceError('down', String(err));
      });
      const out = new Map<string, RemoteEvent>();
      for (const entries of answers) {
        if (!Array.isArray(entries)) continue;
        for (const entry of entries as Array<[string, string[]]>) {
          const f = fieldsOf(entry[1]);
          if (f.o === deps.instanceId || !f.i || out.has(f.i)) continue; // ours are in the local store
          const ts = Number(f.t);
          const from = f.c && f.c === q.correlationId ? Math.min(q.since, q.sessionSince) : q.since;
          if (!Number.isFinite(ts) || ts < from || ts > q.until) continue;
          out.set(f.i, {
            id: f.i,
            ts,
            eventType: f.y ?? '',
            service: f.s ?? 'unknown',
            errorCode: f.e ?? '',
            message: f.n === '1' ? null : (f.m ?? ''),
            correlationId: f.c ? f.c : null,
          });
        }
      }
      return [...out.values()];
    },
  };

  return {
    appendEvent(event) {
      if (eventBuffer.length >= MAX_BUFFER) {
        metrics.inc('tracepulse_cluster_evidence_events_dropped_total', { reason: 'buffer_full' });
        return;
      }
      eventBuffer.push({ event, at: deps.now() });
      schedule();
    },
    events,
    append(lines) {
      const at = deps.now();
      for (const line of lines) {
        if (!line.correlationId && levelRank[line.level] < levelRank.warn) continue;
        if (buffer.length >= MAX_BUFFER) {
          metrics.inc('tracepulse_cluster_evidence_dropped_total', { reason: 'buffer_full' });
          continue;
        }
        buffer.push({ line, at });
      }
      schedule();
    },
    source,
    state: () => ({ buffered: buffer.length, bufferedEvents: eventBuffer.length, lastFlushLagMs }),
  };
}

function fieldsOf(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[String(list[i])] = String(list[i + 1]);
  return out;
}
