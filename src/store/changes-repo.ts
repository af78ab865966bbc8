import type { Database } from 'bun:sqlite';
import type { z } from 'zod';
import type { Change, ChangeKind, changeInputSchema } from '../core/change.ts';
import type { ChangeSource } from '../core/ports.ts';

/** A validated change record (POST /api/changes). */
export type ChangeRecord = z.output<typeof changeInputSchema>;

/** A GitHub commit to cache; without `files` only the list-level facts are known yet. */
export interface CommitInput {
  repo: string;
  sha: string;
  timestamp: number;
  summary: string;
  author: string | null;
  url: string | null;
  /** Set once the commit's detail (files and patches) was fetched; then never fetched again. */
  detail?: { files: string[]; diff: string | null };
  /** Map services whose files the commit touches (first one becomes `service`). */
  services: string[];
}

export interface ChangeQuery {
  service?: string;
  kind?: ChangeKind;
  since?: number;
  until?: number;
  limit?: number;
}

export interface ChangeRow {
  id: string;
  origin: string;
  kind: string;
  service: string | null;
  ts: number;
  summary: string;
  files: string;
  diff: string | null;
  author: string | null;
  url: string | null;
  repo: string | null;
  sha: string | null;
  detail: number;
}

/** Upper bound of changesBetween: the newest this many in the window (a trigger cares about recent ones). */
export const maxChangesPerWindow = 2000;

export const rowToChange = (r: ChangeRow): Change => ({
  id: r.id,
  sha: r.sha,
  service: r.service,
  kind: r.kind as ChangeKind,
  timestamp: r.ts,
  summary: r.summary,
  files: JSON.parse(r.files),
  diff: r.diff,
  author: r.author,
  url: r.url,
  repo: r.repo,
});

/** The id a cached GitHub commit is stored under. */
export const commitId = (repo: string, sha: string): string => `${repo}@${sha}`;

/** Change records and cached GitHub commits in one table, read as evidence (ChangeSource). */
export function createChangesRepo(db: Database) {
  const insertRecord = db.query(
    `INSERT INTO changes (id, origin, kind, service, ts, summary, files, diff, author, url, repo, sha, detail, received_at)
     VALUES (?, 'api', ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 1, ?) ON CONFLICT (id) DO NOTHING`,
  );
  const insertCommit = db.query(
    `INSERT INTO changes (id, origin, kind, service, ts, summary, files, diff, author, url, repo, sha, detail, received_at)
     VALUES (?, 'github', 'commit', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  // Only a summary row is completed: a detailed commit is immutable.
  const completeCommit = db.query(
    'UPDATE changes SET files = ?, diff = ?, service = ?, detail = 1 WHERE id = ? AND detail = 0',
  );
  const insertService = db.query(
    'INSERT INTO change_services (change_id, service, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const clearServices = db.query('DELETE FROM change_services WHERE change_id = ?');

  const setServices = (id: string, services: string[], ts: number) => {
    clearServices.run(id);
    for (const s of services) insertService.run(id, s, ts);
  };

  const repo = {
    /** Stores records in one transaction; a record whose id is already stored is left untouched. */
    record(records: ChangeRecord[], receivedAt: number): Array<{ id: string; duplicate: boolean }> {
      return db.transaction(() =>
        records.map((r) => {
          const n = insertRecord.run(
            r.id,
            r.kind,
            r.service,
            r.timestamp,
            r.summary,
            JSON.stringify(r.files ?? []),
            r.diff ?? null,
            r.author ?? null,
            r.url ?? null,
            receivedAt,
          ).changes;
          if (n) insertService.run(r.id, r.service, r.timestamp);
          return { id: r.id, duplicate: n === 0 };
        }),
      )();
    },

    /** Caches commits: new ones are inserted, summary-only ones are completed by a detail; nothing else changes. */
    saveCommits(commits: CommitInput[], receivedAt: number): number {
      let written = 0;
      db.transaction(() => {
        for (const c of commits) {
          const id = commitId(c.repo, c.sha);
          const service = c.services[0] ?? null;
          const files = JSON.stringify(c.detail?.files ?? []);
          const diff = c.detail?.diff ?? null;
          let n = insertCommit.run(
            id,
            service,
            c.timestamp,
            c.summary,
            files,
            diff,
            c.author,
            c.url,
            c.repo,
            c.sha,
            c.detail ? 1 : 0,
            receivedAt,
          ).changes;
          if (!n && c.detail) n = completeCommit.run(files, diff, service, id).changes;
          if (n) {
            setServices(id, c.services, c.timestamp);
            written++;
          }
        }
      })();
      return written;
    },

    /** For each sha already cached: whether its detail (files, patches) is stored. */
    commitState(repo: string, shas: string[]): Map<string, 'summary' | 'detail'> {
      const out = new Map<string, 'summary' | 'detail'>();
      const q = db.query<{ sha: string; detail: number }, [string, string]>(
        'SELECT sha, detail FROM changes WHERE repo = ? AND sha = ?',
      );
      for (const sha of shas) {
        const r = q.get(repo, sha);
        if (r) out.set(r.sha, r.detail ? 'detail' : 'summary');
      }
      return out;
    },

    /** Cached commits at or after `since` whose detail was not fetched yet, newest first. */
    missingDetail(since: number, limit: number): Array<{ repo: string; sha: string }> {
      return db
        .query<{ repo: string; sha: string }, [number, number]>(
          'SELECT repo, sha FROM changes WHERE detail = 0 AND ts >= ? ORDER BY ts DESC LIMIT ?',
        )
        .all(since, limit);
    },

    /** Re-derives the services of every cached commit (after the system map changed). */
    remapCommits(servicesFor: (repo: string, files: string[]) => string[]): number {
      const rows = db
        .query<{ id: string; repo: string; files: string; ts: number }, []>(
          "SELECT id, repo, files, ts FROM changes WHERE origin = 'github'",
        )
        .all();
      const setPrimary = db.query('UPDATE changes SET service = ? WHERE id = ?');
      db.transaction(() => {
        for (const r of rows) {
          const services = servicesFor(r.repo, JSON.parse(r.files));
          setPrimary.run(services[0] ?? null, r.id);
          setServices(r.id, services, r.ts);
        }
      })();
      return rows.length;
    },

    /** Fills a record's files and diff from elsewhere (a deploy's compare), only where the sender gave none. */
    fillMissing(id: string, files: string[], diff: string | null): void {
      db.query(
        `UPDATE changes SET files = CASE WHEN files = '[]' THEN ? ELSE files END,
         diff = COALESCE(diff, ?) WHERE id = ?`,
      ).run(JSON.stringify(files), diff, id);
    },

    /** Newest first; with `service`, changes mapped to that service (records by name, commits by file). */
    list(q: ChangeQuery = {}): Change[] {
      const clauses: string[] = [];
      const params: (string | number)[] = [];
      const col = q.service !== undefined ? 's.ts' : 'c.ts';
      if (q.service !== undefined) {
        clauses.push('s.service = ?');
        params.push(q.service);
      }
      if (q.kind !== undefined) {
        clauses.push('c.kind = ?');
        params.push(q.kind);
      }
      if (q.since !== undefined) {
        clauses.push(`${col} >= ?`);
        params.push(q.since);
      }
      if (q.until !== undefined) {
        clauses.push(`${col} <= ?`);
        params.push(q.until);
      }
      const from =
        q.service !== undefined ? 'change_services s JOIN changes c ON c.id = s.change_id' : 'changes c';
      const where = clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
      return db
        .query<ChangeRow, (string | number)[]>(
          `SELECT c.* FROM ${from} ${where} ORDER BY ${col} DESC, c.rowid DESC LIMIT ?`,
        )
        .all(...params, q.limit ?? 100)
        .map(rowToChange);
    },

    get(id: string): Change | null {
      const r = db.query<ChangeRow, [string]>('SELECT * FROM changes WHERE id = ?').get(id);
      return r ? rowToChange(r) : null;
    },

    /** ChangeSource: since <= timestamp <= until, oldest first, at most the newest `maxChangesPerWindow`. */
    changesBetween(since: number, until: number): Change[] {
      return db
        .query<ChangeRow, [number, number, number]>(
          `SELECT * FROM (SELECT *, rowid AS rid FROM changes WHERE ts >= ? AND ts <= ? ORDER BY ts DESC, rowid DESC LIMIT ?)
           ORDER BY ts ASC, rid ASC`,
        )
        .all(since, until, maxChangesPerWindow)
        .map(rowToChange);
    },

    /** Stored changes; `commits` counts only cached GitHub commits (the partial sha index answers it). */
    count(what: 'all' | 'commits' = 'all'): number {
      const r = db
        .query<{ n: number }, []>(
          what === 'commits'
            ? 'SELECT COUNT(*) AS n FROM changes WHERE sha IS NOT NULL'
            : 'SELECT COUNT(*) AS n FROM changes',
        )
        .get();
      return r?.n ?? 0;
    },
  };
  return repo satisfies ChangeSource;
}
export type ChangesRepo = ReturnType<typeof createChangesRepo>;
