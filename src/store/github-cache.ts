import type { Database } from 'bun:sqlite';
import type { Change } from '../core/change.ts';
import { type ChangeRow, rowToChange } from './changes-repo.ts';

/** What a commit-list page said last time: its ETag, the shas it listed and whether a next page existed. */
export interface ListPageMemo {
  etag: string;
  shas: string[];
  hasNext: boolean;
}

export type CompareOutcome =
  | { state: 'none' }
  | { state: 'done'; repo: string; base: string; head: string; commits: string[] }
  | { state: 'failed'; repo: string; base: string; head: string; error: string };

/** GitHub conditional-request memory (ETag per request URL) and deploy compare outcomes. */
export function createGitHubCache(db: Database) {
  return {
    page(url: string): ListPageMemo | null {
      const r = db
        .query<{ etag: string; shas: string; has_next: number }, [string]>(
          'SELECT etag, shas, has_next FROM github_etags WHERE url = ?',
        )
        .get(url);
      return r ? { etag: r.etag, shas: JSON.parse(r.shas), hasNext: r.has_next === 1 } : null;
    },

    savePage(url: string, memo: ListPageMemo, at: number): void {
      db.query(
        `INSERT INTO github_etags (url, etag, shas, has_next, checked_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, shas = excluded.shas,
         has_next = excluded.has_next, checked_at = excluded.checked_at`,
      ).run(url, memo.etag, JSON.stringify(memo.shas), memo.hasNext ? 1 : 0, at);
    },

    /** A 304 confirmed the page: keeps it from retention. */
    touchPage(url: string, at: number): void {
      db.query('UPDATE github_etags SET checked_at = ? WHERE url = ?').run(at, url);
    },

    /** Deploy records in [since, until] with no compare outcome yet, newest first. */
    deploysWithoutCompare(since: number, until: number, limit: number): Change[] {
      return db
        .query<ChangeRow, [number, number, number]>(
          `SELECT c.* FROM changes c LEFT JOIN github_compares g ON g.change_id = c.id
           WHERE c.kind = 'deploy' AND c.origin = 'api' AND c.ts >= ? AND c.ts <= ? AND g.change_id IS NULL
           ORDER BY c.ts DESC LIMIT ?`,
        )
        .all(since, until, limit)
        .map(rowToChange);
    },

    saveCompare(changeId: string, outcome: CompareOutcome, at: number): void {
      const o = outcome.state === 'none' ? null : outcome;
      db.query(
        `INSERT INTO github_compares (change_id, repo, base, head, state, commits, error, checked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (change_id) DO NOTHING`,
      ).run(
        changeId,
        o?.repo ?? null,
        o?.base ?? null,
        o?.head ?? null,
        outcome.state,
        outcome.state === 'done' ? JSON.stringify(outcome.commits) : null,
        outcome.state === 'failed' ? outcome.error : null,
        at,
      );
    },

    compare(changeId: string): CompareOutcome | null {
      const r = db
        .query<
          {
            repo: string | null;
            base: string | null;
            head: string | null;
            state: string;
            commits: string | null;
            error: string | null;
          },
          [string]
        >('SELECT repo, base, head, state, commits, error FROM github_compares WHERE change_id = ?')
        .get(changeId);
      if (!r) return null;
      if (r.state === 'none' || !r.repo || !r.base || !r.head) return { state: 'none' };
      if (r.state === 'done')
        return {
          state: 'done',
          repo: r.repo,
          base: r.base,
          head: r.head,
          commits: JSON.parse(r.commits ?? '[]'),
        };
      return { state: 'failed', repo: r.repo, base: r.base, head: r.head, error: r.error ?? '' };
    },
  };
}
export type GitHubCache = ReturnType<typeof createGitHubCache>;
