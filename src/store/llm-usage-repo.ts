import type { Database } from 'bun:sqlite';

const hourMs = 3_600_000;

/** LLM requests and tokens spent, kept in SQLite so a restart (or a crash loop) does not reset the hourly budget. */
export interface LlmUsageRepo {
  /** Records a request before it is sent (a request whose answer is lost is spent all the same). */
  record(at: number, tokens: number): number;
  /** Replaces the estimate of a recorded request with the tokens the server reported. */
  settle(id: number, tokens: number): void;
  /** Milliseconds until one more request fits the budget (0 = now). A limit of 0 means no limit. */
  waitMs(now: number, maxRequests: number, maxTokens: number): number;
  lastHour(now: number): { requests: number; tokens: number };
}

export function createLlmUsageRepo(db: Database): LlmUsageRepo {
  const insert = db.prepare('INSERT INTO llm_usage (at, tokens) VALUES (?, ?)');
  const settle = db.prepare('UPDATE llm_usage SET tokens = ? WHERE id = ?');
  const prune = db.prepare('DELETE FROM llm_usage WHERE at < ?');
  const window = db.prepare<{ at: number; tokens: number }, [number]>(
    'SELECT at, tokens FROM llm_usage WHERE at >= ? ORDER BY at',
  );
  return {
    record(at, tokens) {
      prune.run(at - hourMs);
      return Number(insert.run(at, tokens).lastInsertRowid);
    },
    settle(id, tokens) {
      settle.run(tokens, id);
    },
    waitMs(now, maxRequests, maxTokens) {
      const rows = window.all(now - hourMs);
      let wait = 0;
      if (maxRequests > 0 && rows.length >= maxRequests) {
        // The request that frees a slot is the one maxRequests back from the end.
        const freeing = rows[rows.length - maxRequests];
        if (freeing) wait = Math.max(wait, freeing.at + hourMs - now);
      }
      if (maxTokens > 0) {
        let sum = rows.reduce((s, r) => s + r.tokens, 0);
        for (const r of rows) {
          if (sum < maxTokens) break;
          sum -= r.tokens;
          wait = Math.max(wait, r.at + hourMs - now);
        }
      }
      return Math.max(0, wait);
    },
    lastHour(now) {
      const rows = window.all(now - hourMs);
      return { requests: rows.length, tokens: rows.reduce((s, r) => s + r.tokens, 0) };
    },
  };
}
