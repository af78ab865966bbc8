import type { Database } from 'bun:sqlite';
import { messagePattern } from '../core/message-pattern.ts';

const HOUR = 3_600_000;

export interface PatternCount {
  service: string;
  pattern: string;
  count: number;
  firstTs: number;
}

/**
 * Hourly counts of warn/error/fatal message patterns per service, kept up to date from the logs
 * table by `indexPending` (called in the background and, bounded, before each analysis). Lets the
 * trigger path ask "was this message seen before the window, and how often?" with one primary-key
 * range read per pattern, whatever the size of the logs table.
 */
export function createLogPatterns(db: Database) {
  db.query('INSERT OR IGNORE INTO log_pattern_cursor (id, last_log_id) VALUES (1, 0)').run();
  const cursor = db.prepare<{ last_log_id: number }, []>(
    'SELECT last_log_id FROM log_pattern_cursor WHERE id = 1',
  );
  const setCursor = db.prepare('UPDATE log_pattern_cursor SET last_log_id = ? WHERE id = 1');
  const pending = db.prepare<{ id: number; ts: number; service: string; message: string }, [number, number]>(
    'SELECT id, ts, service, message FROM logs WHERE id > ? AND id <= ? AND level >= 2 ORDER BY id',
  );
  const lastId = db.prepare<{ id: number | null }, []>('SELECT MAX(id) AS id FROM logs');
  const firstPending = db.prepare<{ ts: number }, [number]>(
    'SELECT ts FROM logs WHERE id > ? ORDER BY id LIMIT 1',
  );
  const upsert = db.prepare(
    `INSERT INTO log_patterns (service, pattern, hour, count, first_ts, last_ts) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (service, pattern, hour) DO UPDATE SET count = count + excluded.count,
       first_ts = MIN(first_ts, excluded.first_ts), last_ts = MAX(last_ts, excluded.last_ts)`,
  );
  // One read for all the pairs: json_each feeds [service, pattern] rows and each is a primary-key
  // range seek (CROSS JOIN keeps them the outer loop). It replaced one statement per service and up
  // to 50 patterns (~140 a trigger at 200 services); grouped by the pair's index in the array, not by
  // its text, it costs about what the seeks cost (grouping by the text was 5x that).
  const historyOfPairs = db.prepare<
    { i: number; n: number; first: number | null; boundary: number | null },
    [number, number, number, string]
  >(
    `SELECT q.i AS i,
       SUM(CASE WHEN p.hour < ?1 THEN p.count ELSE 0 END) AS n,
       MIN(CASE WHEN p.hour < ?1 THEN p.first_ts END) AS first,
       MIN(CASE WHEN p.hour = ?1 AND p.first_ts < ?2 THEN p.first_ts END) AS boundary
     FROM (SELECT key AS i, value->>0 AS service, value->>1 AS pattern FROM json_each(?4)) AS q
     CROSS JOIN log_patterns AS p ON p.service = q.service AND p.pattern = q.pattern
       AND p.hour >= ?3 AND p.hour <= ?1
     GROUP BY q.i
     ORDER BY q.i`,
  );
  // When each pair first appeared in an hour range: one seek per pair on the primary key.
  const firstOfPairs = db.prepare<{ i: number; first: number | null }, [number, number, string]>(
    `SELECT q.i AS i, MIN(p.first_ts) AS first
     FROM (SELECT key AS i, value->>0 AS service, value->>1 AS pattern FROM json_each(?3)) AS q
     CROSS JOIN log_patterns AS p ON p.service = q.service AND p.pattern = q.pattern
       AND p.hour >= ?1 AND p.hour <= ?2
     GROUP BY q.i`,
  );
  /** SQLite's BINARY order (bytes of UTF-8), which a GROUP BY on the text gave. */
  const binaryOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

  // Reads at most `span` rows of the logs table per call (a rowid range), so each call is bounded.
  const index = db.transaction((span: number): number => {
    const from = cursor.get()?.last_log_id ?? 0;
    const end = Math.min(lastId.get()?.id ?? from, from + span);
    if (end <= from) return 0;
    const rows = pending.all(from, end);
    const agg = new Map<
      string,
      { service: string; pattern: string; hour: number; n: number; first: number; last: number }
    >();
    for (const r of rows) {
      const pattern = messagePattern(r.message);
      const hour = Math.floor(r.ts / HOUR);
      const key = `${r.service}\u0000${pattern}\u0000${hour}`;
      const a = agg.get(key);
      if (a) {
        a.n++;
        a.first = Math.min(a.first, r.ts);
        a.last = Math.max(a.last, r.ts);
      } else agg.set(key, { service: r.service, pattern, hour, n: 1, first: r.ts, last: r.ts });
    }
    for (const a of agg.values()) upsert.run(a.service, a.pattern, a.hour, a.n, a.first, a.last);
    setCursor.run(end);
    return end - from;
  });

  return {
    /** Folds the warn+ lines among the next `span` log rows into the counts; returns rows covered. */
    indexPending(span = 20_000): number {
      return index(span);
    },
    /**
     * The time of the oldest row not indexed yet (by arrival order), or null when none is pending. A
     * baseline ending at T needs the index only while this is before T.
     */
    firstPendingTs(): number | null {
      return firstPending.get(cursor.get()?.last_log_id ?? 0)?.ts ?? null;
    },
    /** Rows of the logs table not indexed yet (an upper bound: info lines count too). */
    backlog(): number {
      return Math.max(0, (lastId.get()?.id ?? 0) - (cursor.get()?.last_log_id ?? 0));
    },
    /**
     * How often each (service, pattern) was seen in [since, until). Whole hours inside the range are
     * summed; the hour containing `until` counts once if its first line came before `until`.
     */
    history(
      pairs: Array<{ service: string; pattern: string }>,
      since: number,
      until: number,
    ): PatternCount[] {
      const h0 = Math.ceil(since / HOUR);
      const h1 = Math.floor(until / HOUR);
      const byService = new Map<string, string[]>();
      for (const p of pairs) byService.set(p.service, [...(byService.get(p.service) ?? []), p.pattern]);
      // The order the reads per service and 50 patterns gave (the engine keys counts by resolved name,
      // so the order decides between aliases): by service as first asked, then in chunks of 50, each
      // chunk's patterns once and in BINARY order.
      const asked: Array<[string, string]> = [];
      for (const [service, list] of byService)
        for (let i = 0; i < list.length; i += 50)
          for (const pattern of [...new Set(list.slice(i, i + 50))].sort(binaryOrder))
            asked.push([service, pattern]);
      const out: PatternCount[] = [];
      if (!asked.length) return out;
      for (const r of historyOfPairs.all(h1, until, h0, JSON.stringify(asked))) {
        const [service, pattern] = asked[r.i]!;
        const n = (r.n ?? 0) + (r.boundary !== null ? 1 : 0);
        const first = Math.min(r.first ?? Number.POSITIVE_INFINITY, r.boundary ?? Number.POSITIVE_INFINITY);
        if (n > 0 && Number.isFinite(first)) out.push({ service, pattern, count: n, firstTs: first });
      }
      return out;
    },
    /** When each (service, pattern) first appeared in [since, until), by its indexed hours; absent when it did not. */
    firstSeen(
      pairs: Array<{ service: string; pattern: string }>,
      since: number,
      until: number,
    ): Map<number, number> {
      const out = new Map<number, number>();
      if (!pairs.length) return out;
      const rows = firstOfPairs.all(
        Math.floor(since / HOUR),
        Math.floor(until / HOUR),
        JSON.stringify(pairs.map((p) => [p.service, p.pattern])),
      );
      for (const r of rows)
        if (r.first !== null && r.first >= since && r.first < until) out.set(r.i, r.first);
      return out;
    },
  };
}

export type LogPatterns = ReturnType<typeof createLogPatterns>;
