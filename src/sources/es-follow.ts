import type { Logger } from '../core/logger.ts';
import type { LogLine } from '../core/log-line.ts';
import { type ElasticsearchOptions, lineOfDocument, search } from './elasticsearch.ts';
import type { LogBatch } from '../store/ingest-writer.ts';

/** Batch keys of followed documents: `es-follow:<20-digit ms of the newest>:<hashes of the ids at that ms>`. */
export const KEY_PREFIX = 'es-follow:';
const PAGE = 1000;
const MAX_HASHES = 16;

interface Checkpoint {
  ms: number;
  seen: Set<string>;
}
export const parseCheckpoint = (key: string | null): Checkpoint | null => {
  const m = key && /^es-follow:(\d+):([0-9a-z,]*)$/.exec(key);
  return m ? { ms: Number(m[1]!), seen: new Set(m[2]!.split(',').filter(Boolean)) } : null;
};
const idHash = (index: string, id: string) => Bun.hash(`${index}/${id}`).toString(36).slice(0, 10);

export interface EsFollower {
  state(): { polling: boolean; lastError: string | null; checkpointMs: number };
  stop(): Promise<void>;
}

/**
 * Polls the index for new documents (the "real-time indexing" subscription): sorted by the
 * timestamp, from the checkpoint's timestamp on (a range, not search_after: no tiebreaker field is
 * sortable on every index without a point in time), the documents already stored at exactly
 * that timestamp skipped by id. Stores through the normal ingest path; the checkpoint is the batch
 * key committed with the lines, so a restart resumes where it stopped. Documents indexed late with a
 * timestamp before the checkpoint are not read (poll behind the refresh interval: `lagMs`).
 */
export function startEsFollower(deps: {
  options: ElasticsearchOptions;
  /** The ingest path: stores the lines with their batch key, resolving once committed. */
  store: (lines: LogLine[], batch: LogBatch) => Promise<unknown>;
  logger: Logger;
  loadCheckpoint: () => string | null;
  now: () => number;
  intervalMs: number;
  lagMs?: number;
}): EsFollower {
  const { options, logger } = deps;
  const f = options.fields;
  const lag = deps.lagMs ?? 1000;
  let cp: Checkpoint = parseCheckpoint(deps.loadCheckpoint()) ?? { ms: deps.now(), seen: new Set() };
  let stopped = false;
  let lastError: string | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let running: Promise<void> = Promise.resolve();

  const poll = async () => {
    for (;;) {
      const hits = await search(
        options,
        {
          size: PAGE,
          track_total_hits: false,
          sort: [{ [f.timestamp]: { order: 'asc' } }],
          // gte + the ids seen at the boundary: search_after alone would skip unseen documents sharing it.
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
      const fresh: Array<{ line: LogLine; ms: number; hash: string }> = [];
      for (const h of hits) {
        const l = lineOfDocument(h._source, f);
        if (!l) continue;
        const hash = idHash(
          String((h as { _index?: string })._index ?? ''),
          h._id ?? JSON.stringify(h._source),
        );
        if (l.ts < cp.ms || (l.ts === cp.ms && cp.seen.has(hash))) continue;
        fresh.push({
          ms: l.ts,
          hash,
          line: {
            timestamp: l.ts,
            service: l.service.slice(0, 200),
            level: l.level,
            message: l.message.slice(0, 16384),
            correlationId: l.correlationId,
            attributes: null,
            source: 'es-follow',
          },
        });
      }
      if (fresh.length) {
        const last = fresh.at(-1)!.ms;
        const seen = new Set(last === cp.ms ? cp.seen : []);
        for (const x of fresh) if (x.ms === last) seen.add(x.hash);
        const key = `${KEY_PREFIX}${String(last).padStart(20, '0')}:${[...seen].slice(0, MAX_HASHES).join(',')}`;
        await deps.store(
          fresh.map((x) => x.line),
          { key, receivedAt: deps.now() },
        );
        cp = { ms: last, seen };
      }
      if (hits.length < PAGE || !fresh.length || stopped) return;
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
        if (!lastError) logger.warn('Elasticsearch follow poll failed; retrying', { error: String(err) });
        lastError = String(err);
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, deps.intervalMs);
      });
  };
  loop();

  return {
    state: () => ({ polling: !stopped, lastError, checkpointMs: cp.ms }),
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
