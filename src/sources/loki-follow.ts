import { type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { LogLine } from '../core/log-line.ts';
import type { Metrics } from '../core/metrics.ts';
import {
  type LokiOptions,
  type LokiStream,
  linesOfStreams,
  lokiHeaders,
  lokiStreamSchema,
  queryRange,
} from './loki.ts';
import { z } from 'zod';
import type { LogBatch } from '../store/ingest-writer.ts';

/** Batch keys of followed lines: `loki-tail:<20-digit ns of the newest line>:<hashes of the lines at that ns>`. */
export const KEY_PREFIX = 'loki-tail:';
const NS_DIGITS = 20;
const MAX_HASHES = 16;
/** Lines per query_range page while catching up. */
const PAGE = 1000;
/** Tail frames waiting to be stored; past it the socket is dropped and the gap is backfilled. */
const MAX_PENDING_FRAMES = 100;

// A tail frame (https://grafana.com/docs/loki/latest/reference/loki-http-api/#stream-logs):
// { streams: [{ stream, values: [[ns, line]] }], dropped_entries: [{ labels, timestamp }] }
const frameSchema = z.object({
  streams: z.array(lokiStreamSchema).default([]),
  dropped_entries: z.array(z.unknown()).nullish(),
});

export interface Checkpoint {
  /** Nanosecond epoch of the newest stored line. */
  ns: bigint;
  /** Hashes of the lines stored at exactly `ns` (several lines may share a timestamp). */
  seen: Set<string>;
}

export const parseCheckpoint = (key: string | null): Checkpoint | null => {
  const m = key && /^loki-tail:(\d+):([0-9a-z,]*)$/.exec(key);
  return m ? { ns: BigInt(m[1]!), seen: new Set(m[2]!.split(',').filter(Boolean)) } : null;
};
const entryHash = (labels: Record<string, string>, line: string) =>
  Bun.hash(`${JSON.stringify(labels)}\u0000${line}`)
    .toString(36)
    .slice(0, 10);

interface Entry {
  ns: bigint;
  nsText: string;
  labels: Record<string, string>;
  line: string;
  hash: string;
}

export interface LokiFollower {
  state(): { connected: boolean; reconnects: number; checkpointNs: string | null };
  stop(): Promise<void>;
}

/**
 * Follows the selector over /loki/api/v1/tail and stores what arrives through the normal ingest
 * path (so baselines, novelty and onset work on Loki logs too). On start and after every dropped
 * connection it first catches up with query_range from the checkpoint, then tails from there;
 * lines at or before the checkpoint are skipped, so nothing is missed or stored twice. The
 * checkpoint is the batch key committed with the lines (see latestBatchKey).
 */
export function startLokiFollower(deps: {
  options: LokiOptions;
  /** The ingest path: stores the lines with their batch key, resolving once committed. */
  store: (lines: LogLine[], batch: LogBatch) => Promise<unknown>;
  logger: Logger;
  metrics: Metrics;
  /** The last committed checkpoint key, or null (then following starts now). */
  loadCheckpoint: () => string | null;
  now: () => number;
  /** The reconnect back-off (tests pass a manual clock and advance it). */
  scheduler?: Scheduler;
  backoffMs?: { min: number; max: number };
}): LokiFollower {
  const { options, logger, metrics } = deps;
  const backoff = deps.backoffMs ?? { min: 500, max: 30_000 };
  const scheduler = deps.scheduler ?? systemScheduler;
  metrics.describe('tracepulse_loki_follow_reconnects_total', 'Loki tail connections lost and re-opened');
  metrics.describe('tracepulse_loki_follow_dropped_total', 'Entries Loki reported as dropped from the tail');
  let cp: Checkpoint = parseCheckpoint(deps.loadCheckpoint()) ?? {
    ns: BigInt(deps.now()) * 1_000_000n,
    seen: new Set(),
  };
  let stopped = false;
  let connected = false;
  let reconnects = 0;
  let ws: WebSocket | null = null;
  let timer: Timer | null = null;
  let delay = backoff.min;
  let chain: Promise<void> = Promise.resolve();
  let pending = 0;
  let session = 0;

  const toEntries = (streams: LokiStream[]): Entry[] =>
    streams.flatMap((s) =>
      s.values.map((v) => ({
        ns: BigInt(v[0]),
        nsText: v[0],
        labels: s.stream,
        line: v[1],
        hash: entryHash(s.stream, v[1]),
      })),
    );

  /** Stores the entries after the checkpoint, oldest first, with the new checkpoint as their batch key. */
  const store = async (entries: Entry[]) => {
    const fresh = entries
      .filter((e) => e.ns > cp.ns || (e.ns === cp.ns && !cp.seen.has(e.hash)))
      .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
    const unique = fresh.filter(
      (e, i) => i === 0 || e.ns !== fresh[i - 1]!.ns || e.hash !== fresh[i - 1]!.hash,
    );
    if (!unique.length) return;
    const last = unique.at(-1)!.ns;
    const seen = new Set(last === cp.ns ? cp.seen : []);
    for (const e of unique) if (e.ns === last) seen.add(e.hash);
    const lines: LogLine[] = linesOfStreams(
      unique.map((e) => ({ stream: e.labels, values: [[e.nsText, e.line]] as [string, string][] })),
      options.serviceLabel,
    )
      .filter((l) => l.message.length <= 16384)
      .map((l, i) => ({
        timestamp: l.ts,
        service: l.service.slice(0, 200),
        level: l.level,
        message: l.message,
        correlationId: l.correlationId,
        attributes: unique[i]!.labels,
        source: 'loki-tail' as const,
      }));
    const key = `${KEY_PREFIX}${last.toString().padStart(NS_DIGITS, '0')}:${[...seen].slice(0, MAX_HASHES).join(',')}`;
    await deps.store(lines, { key, receivedAt: deps.now() });
    cp = { ns: last, seen };
  };

  /** query_range forward from the checkpoint until a page comes back short. */
  const backfill = async () => {
    for (;;) {
      const until = deps.now();
      const since = Number(cp.ns / 1_000_000n);
      const streams = await queryRange(
        options,
        options.selector,
        { since, until, limit: PAGE, direction: 'forward' },
        AbortSignal.timeout(10_000),
      );
      const entries = toEntries(streams);
      const before = cp.ns;
      await store(entries);
      // A short page is the end; a full page that did not move the checkpoint cannot be paged past.
      if (entries.length < PAGE || stopped || cp.ns === before) return;
    }
  };

  const scheduleReconnect = () => {
    if (stopped || timer) return;
    const wait = delay / 2 + Math.random() * (delay / 2);
    delay = Math.min(delay * 2, backoff.max);
    timer = scheduler.after(wait, () => {
      timer = null;
      void connect();
    });
  };

  /** The tail's address, from the checkpoint on. */
  const tailUrl = () => {
    const { base, headers } = lokiHeaders(options);
    const params = new URLSearchParams({
      query: options.selector,
      start: cp.ns.toString(),
      limit: String(PAGE),
      delay_for: '0',
    });
    return { url: `${base.replace(/^http/, 'ws')}/loki/api/v1/tail?${params}`, headers };
  };

  /** Queues one tail frame's lines for storing; a bad frame, a failed store or a full queue drops the socket. */
  const receiveFrame = (socket: WebSocket, data: unknown) => {
    if (pending >= MAX_PENDING_FRAMES) {
      // Storing fell behind: drop the socket; the next catch-up reads the gap from query_range.
      socket.close(4000, 'behind');
      return;
    }
    let frame: z.infer<typeof frameSchema>;
    try {
      frame = frameSchema.parse(JSON.parse(String(data)));
    } catch {
      logger.warn('Loki tail sent a frame that is not a tail response; reconnecting');
      socket.close(4001, 'bad frame');
      return;
    }
    if (frame.dropped_entries?.length)
      metrics.inc('tracepulse_loki_follow_dropped_total', undefined, frame.dropped_entries.length);
    pending++;
    chain = chain
      .then(() => store(toEntries(frame.streams)))
      .catch((err) => {
        logger.error('storing followed Loki lines failed; reconnecting to read them again', {
          error: String(err),
        });
        socket.close(4002, 'store failed');
      })
      .finally(() => {
        pending--;
      });
  };

  /** Catches up from the checkpoint, then follows the tail until it closes (and then again). */
  const connect = async () => {
    if (stopped) return;
    const my = ++session;
    try {
      await backfill();
    } catch (err) {
      logger.warn('Loki catch-up failed; retrying', { error: String(err) });
      scheduleReconnect();
      return;
    }
    if (stopped || my !== session) return;
    const { url, headers } = tailUrl();
    const socket = new WebSocket(url, { headers } as never);
    ws = socket;
    socket.addEventListener('open', () => {
      connected = true;
      delay = backoff.min;
      logger.info('following Loki', { selector: options.selector });
    });
    socket.addEventListener('message', (ev) => receiveFrame(socket, ev.data));
    socket.addEventListener('close', () => {
      if (ws === socket) ws = null;
      if (connected) logger.warn('Loki tail closed; catching up and reconnecting');
      connected = false;
      if (stopped) return;
      reconnects++;
      metrics.inc('tracepulse_loki_follow_reconnects_total');
      // Let stored frames finish first so the catch-up starts from the newest checkpoint.
      void chain.then(scheduleReconnect);
    });
  };

  void connect();

  return {
    state: () => ({ connected, reconnects, checkpointNs: cp.ns.toString() }),
    async stop() {
      stopped = true;
      timer?.cancel();
      ws?.close(1000, 'stopping');
      await chain;
    },
  };
}
