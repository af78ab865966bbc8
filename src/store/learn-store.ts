import type { Database } from 'bun:sqlite';
import type { GateFigures, LearntModel } from '../core/learnt-model.ts';

export type ModelStatus = 'active' | 'refused' | 'superseded';

export interface StoredModel extends LearntModel {
  id: number;
  status: ModelStatus;
  figures: GateFigures;
  feedbackCount: number;
  reason: string;
  createdAt: number;
}

interface Row {
  id: number;
  version: string;
  status: string;
  adjustments: string;
  figures: string;
  feedback_count: number;
  reason: string | null;
  created_at: number;
}

const toModel = (r: Row): StoredModel => ({
  id: r.id,
  version: r.version,
  status: r.status as ModelStatus,
  contexts: JSON.parse(r.adjustments),
  figures: JSON.parse(r.figures),
  feedbackCount: r.feedback_count,
  reason: r.reason ?? '',
  createdAt: r.created_at,
});

/** Learnt adjustment sets: the one in force, those it replaced, and those the gate refused (with figures). */
export function createLearnStore(db: Database) {
  const nextVersion = () =>
    `adj-${(db.query<{ n: number }, []>('SELECT COALESCE(MAX(id), 0) AS n FROM learn_models').get()?.n ?? 0) + 1}`;
  return {
    active(): StoredModel | null {
      const r = db
        .query<Row, []>("SELECT * FROM learn_models WHERE status = 'active' ORDER BY id DESC LIMIT 1")
        .get();
      return r ? toModel(r) : null;
    },
    /** Stores a gate decision; an accepted model becomes the one in force in the same transaction. */
    record(m: Omit<StoredModel, 'id' | 'version'>): StoredModel {
      return db.transaction(() => {
        const version = nextVersion();
        if (m.status === 'active')
          db.query("UPDATE learn_models SET status = 'superseded' WHERE status = 'active'").run();
        const r = db
          .query<{ id: number }, [string, string, string, string, number, string, number]>(
            `INSERT INTO learn_models (version, status, adjustments, figures, feedback_count, reason, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
          )
          .get(
            version,
            m.status,
            JSON.stringify(m.contexts),
            JSON.stringify(m.figures),
            m.feedbackCount,
            m.reason,
            m.createdAt,
          );
        return { ...m, id: r!.id, version };
      })();
    },
    list(limit = 50): StoredModel[] {
      return db
        .query<Row, [number]>('SELECT * FROM learn_models ORDER BY id DESC LIMIT ?')
        .all(limit)
        .map(toModel);
    },
  };
}
export type LearnStore = ReturnType<typeof createLearnStore>;
