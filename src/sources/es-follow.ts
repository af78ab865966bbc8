import { type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { LogLine } from '../core/log-line.ts';
import { SourceError } from '../core/log-source.ts';
import { type ElasticsearchOptions, type EsHit, lineOfDocument, search } from './elasticsearch.ts';
import type { LogBatch } from '../store/ingest-writer.ts';

/**
 * Batch keys of followed documents, which are the checkpoint:
 * `es-follow:<20-digit ms of the newest>:<10-digit batch sequence>:<where to resume>`, where
 * `<where to resume>` is `=` and the newest hit's search_after sort values (base64url JSON) with a
 * tiebreaker, else the hashes of the ids stored at that millisecond. MAX(key) is the newest.
 */
export const KEY_PREFIX = 'es-follow:';
const PAGE = 1000;
/** Ids remembered at the checkpoint's millisecond without a tiebreaker (more documents at one ms may be read twice after a restart). */
const MAX_HASHES = 64;

interface Checkpoint {
  ms: number;
  seq: number;
  /** Without a tiebreaker: the documents already stored at `ms`. */
  seen: Set<string>;
  /** With a tiebreaker: the last stored hit's sort values, for search_after. */
  after: unknown[] | null;
}

const b64url = (s: string) => Buffer.from(s).toString('base64url');
export function parseCheckpoint(key: string | null): Checkpoint | null {
  const m = key && /^es-follow:(\d{1,20}):(?:(\d{10}):)?(?:=([A-Za-z0-9_-]+)|([0-9a-z,]*))$/.exec(key);
  if (!m) return null;
  let after: unknown[] | null = null;
  if (m[3]) {
    try {
      const v = JSON.parse(Buffer.from(m[3], 'base64url').toString());
      if (Array.isArray(v)) after = v;
    } catch {}
  }
  return {
    ms: Number(m[1]!),
    seq: Number(m[2] ?? 0),
    seen: new Set((m[4] ?? '').split(',').filter(Boolean)),
    after,
  };
}
export const formatCheckpoint = (cp: Checkpoint): string =>
  `${KEY_PREFIX}${String(cp.ms).padStart(20, '0')}:${String(cp.seq).padStart(10, '0')}:${
    cp.after ? `=${b64url(JSON.stringify(cp.after))}` : [...cp.seen].slice(0, MAX_HASHES).join(',')
  }`;
const idHash = (h: EsHit) =>
  Bun.hash(`${h._index ?? ''}/${h._id ?? JSON.stringify(h._source)}`)
    .toString(36)
    .slice(0, 10);

export interface EsFollower {
  state(): { polling: boolean; lastError: string | null; checkpointMs: number; tiebreaker: string | null };
  stop(): Promise<void>;
}

/**
 * Polls the index for new documents (the "real-time indexing" subscription), sorted by the
 * timestamp and, when configured, a tiebreaker: then `search_after` the last stored hit's sort
 * values, exact whatever the number of documents per millisecond. Without a tiebreaker (no field
 * is unique and sortable on every index) it reads from the checkpoint's millisecond on and skips
 * the documents stored at exactly that millisecond by index and id. Pages of 1000, one second
 * behind now (`lagMs`: Elasticsearch's refresh interval); a document indexed later than that with an
 * older timestamp is not read. Stores through the normal ingest path; the checkpoint is the batch
 * key committed with the lines, so a restart or a dropped connection resumes exactly where the last
 * commit stopped.
 */
export function startEsFollower(deps: {
  options: ElasticsearchOptions;
  /** The ingest path: stores the lines with their batch key, resolving once committed. */
  store: (lines: LogLine[], batch: LogBatch) => Promise<unknown>;
  logger: Logger;
  loadCheckpoint: () => string | null;
  now: () => number;
  /** The poll interval (tests pass a manual clock and advance it). */
  scheduler?: Scheduler;
  intervalMs: number;
  lagMs?: number;
}): EsFollower {
  const { options, logger } = deps;
  const f = options.fields;
  const tb = options.tiebreaker ?? null;
  const lag = deps.lagMs ?? 1000;
  const scheduler = deps.scheduler ?? systemScheduler;
  let cp: Checkpoint = parseCheckpoint(deps.loadCheckpoint()) ?? {
    ms: deps.now(),
    seq: 0,
    seen: new Set(),
    after: null,
  };
  // A checkpoint written without a tiebreaker (or with one since removed) resumes by time and ids.
  if (!tb) cp.after = null;
  let stopped = false;
  let lastError: string | null = null;
  let timer: Timer | null = null;
  let running: Promise<void> = Promise.resolve();

  const page = async (): Promise<{ full: boolean; advanced: boolean }> => {
    const sort: unknown[] = [{ [f.timestamp]: { order: 'asc' } }];
    if (tb) sort.push({ [tb]: { order: 'asc' } });
    const hits = await search(
      options,
      {
        size: PAGE,
        track_total_hits: false,
        sort,
        ...(tb && cp.after ? { search_after: cp.after } : {}),
        query: {
          bool: {
            filter: [
              { range: { [f.timestamp]: { gte: cp.ms, lte: deps.now() - lag, format: 'epoch_millis' } } },
            ],
          },
        },
      },
      AbortSignal.timeout(10_000),
    );
    const lines: LogLine[] = [];
    const next: Checkpoint = { ...cp, seen: new Set(cp.seen) };
    for (const h of hits) {
      if (tb && h.sort?.length !== 2)
        throw new SourceError('bad_answer', 'a hit without its two sort values');
      const l = lineOfDocument(h._source, f);
      const ts = l?.ts ?? next.ms;
      if (tb) next.after = h.sort!;
      if (!cp.after) {
        // By time and ids: always without a tiebreaker, and with one until its first cursor.
        const hash = idHash(h);
        if (ts < cp.ms || (ts === cp.ms && cp.seen.has(hash))) continue;
        if (!tb) {
          if (ts !== next.ms) next.seen = new Set();
          next.seen.add(hash);
        }
      }
      // A document without a usable time or message moves the cursor but stores nothing.
      if (l && ts >= next.ms) next.ms = ts;
      if (!l) continue;
      lines.push({
        timestamp: l.ts,
        service: l.service.slice(0, 200),
        level: l.level,
        message: l.message.slice(0, 16384),
        correlationId: l.correlationId,
        attributes: null,
        source: 'es-follow',
      });
    }
    const advanced = tb ? hits.length > 0 : lines.length > 0;
    if (lines.length) {
      next.seq = cp.seq + 1;
      await deps.store(lines, { key: formatCheckpoint(next), receivedAt: deps.now() });
    }
    if (advanced) cp = next;
    return { full: hits.length >= PAGE, advanced };
  };

  const poll = async () => {
    for (;;) {
      const r = await page();
      if (!r.full || !r.advanced || stopped) return;
    }
  };

  const loop = () => {
    if (stopped) return;
    running = poll()
      .then(() => {
        if (lastError) logger.info('Elasticsearch follow recovered');
        lastError = null;
      })
      .catch((err) => {
        const label = err instanceof SourceError ? err.label : String(err);
        if (!lastError)
          logger.warn('Elasticsearch follow poll failed; retrying', {
            error: String(err),
            ...(tb && label === 'http_400'
              ? {
                  hint: `is ${tb} (TRACEPULSE_ELASTICSEARCH_TIEBREAKER_FIELD) a sortable field on every index?`,
                }
              : {}),
          });
        lastError = label;
      })
      .finally(() => {
        if (!stopped) timer = scheduler.after(deps.intervalMs, loop);
      });
  };
  loop();

  return {
    state: () => ({ polling: !stopped, lastError, checkpointMs: cp.ms, tiebreaker: tb }),
    async stop() {
      stopped = true;
      timer?.cancel();
      await running;
    },
  };
}
