import type { Database } from 'bun:sqlite';

export type OutboxStatus = 'pending' | 'inflight' | 'sent' | 'dead';
export const outboxStatuses: readonly OutboxStatus[] = ['pending', 'inflight', 'sent', 'dead'];

export interface OutboxRow {
  id: number;
  channel: string;
  kind: string;
  reportId: string;
  incidentId: string | null;
  key: string;
  payload: unknown;
  status: OutboxStatus;
  /** Every try, including those that found no connection. */
  attempts: number;
  /** Tries that count towards the dead-letter limit (the receiver answered with a transient error). */
  failures: number;
  maybeSent: boolean;
  nextAttemptAt: number;
  createdAt: number;
  claimedAt: number | null;
  sentAt: number | null;
  lastError: string | null;
  result: unknown;
}

export interface NewOutboxMessage {
  channel: string;
  kind: string;
  reportId: string;
  incidentId: string | null;
  key: string;
  payload: unknown;
}

export type EnqueueOutcome = 'inserted' | 'duplicate' | 'coalesced' | 'dropped';

export interface OutboxStats {
  counts: Array<{ channel: string; status: OutboxStatus; n: number }>;
  oldestPending: Array<{ channel: string; createdAt: number }>;
}

/**
 * The outbox table (Collector persistent-queue semantics): a row is written in the same
 * transaction as the report that causes it, claimed (inflight) before a send, marked sent only
 * after a confirmed send, and re-queued at start-up when it was in flight at a crash.
 */
export interface OutboxRepo {
  /**
   * Adds a message; synchronous so it can run inside the report's transaction. The key is unique,
   * so announcing the same notice twice is harmless. With `coalesce`, an incident update folds into
   * a still-unsent update of the same incident (a storm grows one message, not one per trigger).
   */
  enqueue(m: NewOutboxMessage, now: number, maxPending: number, coalesce?: boolean): EnqueueOutcome;
  /** The oldest undelivered message of a channel: the only one that may be sent (order per channel). */
  head(channel: string): OutboxRow | null;
  /** pending -> inflight, counting a try; false if someone else changed the row. */
  claim(id: number, now: number): boolean;
  markSent(id: number, now: number, result: unknown): void;
  /** Back to pending with a due time; `countFailure` adds to the dead-letter count. */
  markRetry(
    id: number,
    r: { nextAttemptAt: number; error: string; countFailure: boolean; maybeSent: boolean },
  ): void;
  /** Back to pending without counting the try (it did not happen: e.g. a spent budget). */
  defer(id: number, nextAttemptAt: number, reason: string): void;
  markDead(id: number, error: string, maybeSent: boolean): void;
  /** Start-up: rows in flight at a crash become pending again, flagged maybe-sent. */
  requeueInflight(): number;
  get(id: number): OutboxRow | null;
  byKey(key: string): OutboxRow | null;
  /** First delivered 'created' row of a channel for an incident. */
  incidentAnchor(channel: string, incidentId: string): OutboxRow | null;
  list(q: { status?: OutboxStatus; channel?: string; limit?: number; beforeId?: number }): OutboxRow[];
  /** dead (or pending) -> pending, due now, failure count reset. */
  retry(id: number, now: number): 'ok' | 'not_found' | 'conflict';
  stats(): OutboxStats;
  /** Deletes sent rows delivered before `cutoff` and dead rows created before it. */
  prune(cutoff: number): number;
}

interface Raw {
  id: number;
  channel: string;
  kind: string;
  report_id: string;
  incident_id: string | null;
  idempotency_key: string;
  payload: string;
  status: OutboxStatus;
  attempts: number;
  failures: number;
  maybe_sent: number;
  next_attempt_at: number;
  created_at: number;
  claimed_at: number | null;
  sent_at: number | null;
  last_error: string | null;
  result: string | null;
}

const toRow = (r: Raw): OutboxRow => ({
  id: r.id,
  channel: r.channel,
  kind: r.kind,
  reportId: r.report_id,
  incidentId: r.incident_id,
  key: r.idempotency_key,
  payload: JSON.parse(r.payload),
  status: r.status,
  attempts: r.attempts,
  failures: r.failures,
  maybeSent: r.maybe_sent === 1,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  claimedAt: r.claimed_at,
  sentAt: r.sent_at,
  lastError: r.last_error,
  result: r.result === null ? null : JSON.parse(r.result),
});

const maxErrorChars = 2000;
const clip = (s: string) => (s.length > maxErrorChars ? `${s.slice(0, maxErrorChars)}…` : s);

export function createOutboxRepo(db: Database): OutboxRepo {
  const q = {
    insert: db.prepare(
      `INSERT INTO outbox (channel, kind, report_id, incident_id, idempotency_key, payload, status, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
    ),
    coalesce: db.prepare(
      `UPDATE outbox SET payload = ? WHERE id = (
         SELECT id FROM outbox WHERE channel = ? AND incident_id = ? AND kind = 'incident'
           AND status = 'pending' AND maybe_sent = 0 ORDER BY id DESC LIMIT 1)`,
    ),
    pendingCount: db.prepare<{ n: number }, [string]>(
      `SELECT COUNT(*) AS n FROM outbox INDEXED BY outbox_open WHERE channel = ? AND status IN ('pending', 'inflight')`,
    ),
    // Matches the partial index outbox_open term for term, so SQLite walks it in id order.
    head: db.prepare<Raw, [string]>(
      `SELECT * FROM outbox INDEXED BY outbox_open WHERE channel = ? AND status IN ('pending', 'inflight') ORDER BY id LIMIT 1`,
    ),
    claim: db.prepare(
      `UPDATE outbox SET status = 'inflight', attempts = attempts + 1, claimed_at = ? WHERE id = ? AND status = 'pending'`,
    ),
    sent: db.prepare(
      `UPDATE outbox SET status = 'sent', sent_at = ?, result = ?, last_error = NULL WHERE id = ?`,
    ),
    retry: db.prepare(
      `UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, failures = failures + ?,
         maybe_sent = MAX(maybe_sent, ?) WHERE id = ?`,
    ),
    defer: db.prepare(
      `UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?, attempts = MAX(attempts - 1, 0) WHERE id = ?`,
    ),
    dead: db.prepare(
      `UPDATE outbox SET status = 'dead', last_error = ?, maybe_sent = MAX(maybe_sent, ?) WHERE id = ?`,
    ),
    requeue: db.prepare(`UPDATE outbox SET status = 'pending', maybe_sent = 1 WHERE status = 'inflight'`),
    get: db.prepare<Raw, [number]>('SELECT * FROM outbox WHERE id = ?'),
    byKey: db.prepare<Raw, [string]>('SELECT * FROM outbox WHERE idempotency_key = ?'),
    anchor: db.prepare<Raw, [string, string]>(
      `SELECT * FROM outbox WHERE channel = ? AND incident_id = ? AND kind = 'created' AND status = 'sent' ORDER BY id LIMIT 1`,
    ),
    manualRetry: db.prepare(
      `UPDATE outbox SET status = 'pending', failures = 0, next_attempt_at = ? WHERE id = ? AND status IN ('dead', 'pending')`,
    ),
    counts: db.prepare<{ channel: string; status: OutboxStatus; n: number }, []>(
      'SELECT channel, status, COUNT(*) AS n FROM outbox GROUP BY channel, status',
    ),
    oldest: db.prepare<{ channel: string; createdAt: number }, []>(
      `SELECT channel, MIN(created_at) AS createdAt FROM outbox WHERE status IN ('pending', 'inflight') GROUP BY channel`,
    ),
    prune: db.prepare(
      `DELETE FROM outbox WHERE (status = 'sent' AND sent_at < ?1) OR (status = 'dead' AND created_at < ?1)`,
    ),
  };

  // Undelivered rows per channel for the bound: counted at most once a second and incremented in
  // between, so a long outage does not make every report pay a count of the whole backlog.
  // Between counts a rolled-back enqueue can leave it one high: the bound errs on the safe side.
  const open = new Map<string, { n: number; at: number }>();
  const openCount = (channel: string, now: number) => {
    let c = open.get(channel);
    if (!c || now - c.at >= 1000 || now < c.at) {
      c = { n: q.pendingCount.get(channel)?.n ?? 0, at: now };
      open.set(channel, c);
    }
    return c;
  };

  return {
    enqueue(m, now, maxPending, coalesce = false) {
      const payload = JSON.stringify(m.payload);
      if (coalesce && m.kind === 'incident' && m.incidentId !== null) {
        if (q.coalesce.run(payload, m.channel, m.incidentId).changes > 0) return 'coalesced';
      }
      const count = openCount(m.channel, now);
      if (count.n >= maxPending) return 'dropped';
      const r = q.insert.run(m.channel, m.kind, m.reportId, m.incidentId, m.key, payload, now, now);
      if (r.changes === 0) return 'duplicate';
      count.n++;
      return 'inserted';
    },
    head(channel) {
      const r = q.head.get(channel);
      return r ? toRow(r) : null;
    },
    claim: (id, now) => q.claim.run(now, id).changes === 1,
    markSent(id, now, result) {
      q.sent.run(now, result === undefined ? null : JSON.stringify(result), id);
    },
    markRetry(id, r) {
      q.retry.run(r.nextAttemptAt, clip(r.error), r.countFailure ? 1 : 0, r.maybeSent ? 1 : 0, id);
    },
    defer(id, nextAttemptAt, reason) {
      q.defer.run(nextAttemptAt, clip(reason), id);
    },
    markDead(id, error, maybeSent) {
      q.dead.run(clip(error), maybeSent ? 1 : 0, id);
    },
    requeueInflight: () => q.requeue.run().changes,
    get(id) {
      const r = q.get.get(id);
      return r ? toRow(r) : null;
    },
    byKey(key) {
      const r = q.byKey.get(key);
      return r ? toRow(r) : null;
    },
    incidentAnchor(channel, incidentId) {
      const r = q.anchor.get(channel, incidentId);
      return r ? toRow(r) : null;
    },
    list({ status, channel, limit = 100, beforeId }) {
      const where: string[] = [];
      const args: Array<string | number> = [];
      if (status) {
        where.push('status = ?');
        args.push(status);
      }
      if (channel) {
        where.push('channel = ?');
        args.push(channel);
      }
      if (beforeId !== undefined) {
        where.push('id < ?');
        args.push(beforeId);
      }
      args.push(limit);
      return db
        .query<Raw, Array<string | number>>(
          `SELECT * FROM outbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...args)
        .map(toRow);
    },
    retry(id, now) {
      const row = q.get.get(id);
      if (!row) return 'not_found';
      return q.manualRetry.run(now, id).changes === 1 ? 'ok' : 'conflict';
    },
    stats: () => ({ counts: q.counts.all(), oldestPending: q.oldest.all() }),
    prune: (cutoff) => q.prune.run(cutoff).changes,
  };
}
