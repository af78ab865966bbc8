import type { Database } from 'bun:sqlite';
import type { Citation } from '../core/citation.ts';

export interface ChatMessage {
  id: number;
  reportId: string;
  /** User name for questions; 'tracepulse' for answers. */
  author: string;
  kind: 'question' | 'answer';
  text: string;
  citations: Citation[];
  answeredBy: 'local' | 'llm' | null;
  createdAt: number;
}

interface Row {
  id: number;
  report_id: string;
  author: string;
  kind: string;
  text: string;
  citations: string | null;
  answered_by: string | null;
  created_at: number;
}

const toMessage = (r: Row): ChatMessage => ({
  id: r.id,
  reportId: r.report_id,
  author: r.author,
  kind: r.kind as ChatMessage['kind'],
  text: r.text,
  citations: r.citations ? JSON.parse(r.citations) : [],
  answeredBy: r.answered_by as ChatMessage['answeredBy'],
  createdAt: r.created_at,
});

/** Thread conversations and per-user read marks for unread counts. */
export function createChatStore(db: Database) {
  return {
    add(m: Omit<ChatMessage, 'id'>): ChatMessage {
      const r = db
        .query<{ id: number }, [string, string, string, string, string, string | null, number]>(
          `INSERT INTO chat_messages (report_id, author, kind, text, citations, answered_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .get(m.reportId, m.author, m.kind, m.text, JSON.stringify(m.citations), m.answeredBy, m.createdAt);
      return { ...m, id: r!.id };
    },
    forReport(reportId: string, limit = 200): ChatMessage[] {
      return db
        .query<Row, [string, number]>(
          'SELECT * FROM (SELECT * FROM chat_messages WHERE report_id = ? ORDER BY id DESC LIMIT ?) ORDER BY id',
        )
        .all(reportId, limit)
        .map(toMessage);
    },
    /** Number of questions asked per report, for the "n replies" line under a message. */
    questionCounts(reportIds: string[]): Map<string, number> {
      const out = new Map<string, number>();
      if (!reportIds.length) return out;
      const rows = db
        .query<{ report_id: string; n: number }, string[]>(
          `SELECT report_id, COUNT(*) AS n FROM chat_messages WHERE kind = 'question'
           AND report_id IN (${reportIds.map(() => '?').join(',')}) GROUP BY report_id`,
        )
        .all(...reportIds);
      for (const r of rows) out.set(r.report_id, r.n);
      return out;
    },
    markSeen(user: string, channel: string, at: number): void {
      db.query(
        `INSERT INTO chat_reads (user, channel, seen_at) VALUES (?, ?, ?)
         ON CONFLICT (user, channel) DO UPDATE SET seen_at = MAX(seen_at, excluded.seen_at)`,
      ).run(user, channel, at);
    },
    seen(user: string): Map<string, number> {
      return new Map(
        db
          .query<{ channel: string; seen_at: number }, [string]>(
            'SELECT channel, seen_at FROM chat_reads WHERE user = ?',
          )
          .all(user)
          .map((r) => [r.channel, r.seen_at]),
      );
    },
    /** The user opened this report's thread: it is unread nowhere any more. */
    markRead(user: string, reportId: string, at: number): void {
      db.query(
        'INSERT INTO chat_report_reads (user, report_id, read_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ).run(user, reportId, at);
    },
    /** Which of these reports the user has opened. */
    readAmong(user: string, reportIds: string[]): Set<string> {
      if (!reportIds.length) return new Set();
      return new Set(
        db
          .query<{ report_id: string }, [string, string]>(
            'SELECT report_id FROM chat_report_reads WHERE user = ? AND report_id IN (SELECT value FROM json_each(?))',
          )
          .all(user, JSON.stringify(reportIds))
          .map((r) => r.report_id),
      );
    },
    /** Retention: conversations older than `before` (epoch ms) go. */
    deleteOlderThan(before: number): number {
      return db.query('DELETE FROM chat_messages WHERE created_at < ?').run(before).changes;
    },
  };
}
export type ChatStore = ReturnType<typeof createChatStore>;
