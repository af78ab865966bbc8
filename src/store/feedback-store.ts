import type { Database } from 'bun:sqlite';

export const verdicts = ['confirmed', 'rejected'] as const;
export type Verdict = (typeof verdicts)[number];

/** A hypothesis as it was ranked when the feedback was given: its evidence weight by signal. */
export interface RankedSnapshot {
  service: string;
  rank: number;
  confidence: number;
  signals: Record<string, number>;
}

export interface Feedback {
  id: number;
  reportId: string;
  eventId: string;
  eventType: string;
  errorCode: string;
  verdict: Verdict;
  /** The real root-cause service: the confirmed top hypothesis, or the one named in a correction. */
  rootService: string;
  changeId: string | null;
  note: string | null;
  ranked: RankedSnapshot[];
  modelVersion: string;
  author: string;
  createdAt: number;
}

interface Row {
  id: number;
  report_id: string;
  event_id: string;
  event_type: string;
  error_code: string;
  verdict: string;
  root_service: string;
  change_id: string | null;
  note: string | null;
  ranked: string;
  model_version: string;
  author: string;
  created_at: number;
}

const toFeedback = (r: Row): Feedback => ({
  id: r.id,
  reportId: r.report_id,
  eventId: r.event_id,
  eventType: r.event_type,
  errorCode: r.error_code,
  verdict: r.verdict as Verdict,
  rootService: r.root_service,
  changeId: r.change_id,
  note: r.note,
  ranked: JSON.parse(r.ranked),
  modelVersion: r.model_version,
  author: r.author,
  createdAt: r.created_at,
});

/** Feedback on reports: who said what and when. Never deleted by retention (it is the training set). */
export function createFeedbackStore(db: Database) {
  return {
    add(f: Omit<Feedback, 'id'>): Feedback {
      const r = db
        .query<{ id: number }, (string | number | null)[]>(
          `INSERT INTO feedback (report_id, event_id, event_type, error_code, verdict, root_service, change_id,
             note, ranked, model_version, author, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .get(
          f.reportId,
          f.eventId,
          f.eventType,
          f.errorCode,
          f.verdict,
          f.rootService,
          f.changeId,
          f.note,
          JSON.stringify(f.ranked),
          f.modelVersion,
          f.author,
          f.createdAt,
        );
      return { ...f, id: r!.id };
    },
    forReport(reportId: string): Feedback[] {
      return db
        .query<Row, [string]>('SELECT * FROM feedback WHERE report_id = ? ORDER BY id')
        .all(reportId)
        .map(toFeedback);
    },
    /** The latest feedback of each report (a later word on a report replaces an earlier one). */
    latestPerReport(): Feedback[] {
      return db
        .query<Row, []>(
          'SELECT * FROM feedback WHERE id IN (SELECT MAX(id) FROM feedback GROUP BY report_id) ORDER BY id',
        )
        .all()
        .map(toFeedback);
    },
    /** The latest feedback of the `limit` most recently labelled reports, newest first. */
    recentLabels(limit: number): Feedback[] {
      return db
        .query<Row, [number]>(
          'SELECT * FROM feedback WHERE id IN (SELECT MAX(id) FROM feedback GROUP BY report_id) ORDER BY id DESC LIMIT ?',
        )
        .all(limit)
        .map(toFeedback);
    },
    count(): number {
      return db.query<{ n: number }, []>('SELECT COUNT(*) AS n FROM feedback').get()?.n ?? 0;
    },
  };
}
export type FeedbackStore = ReturnType<typeof createFeedbackStore>;
