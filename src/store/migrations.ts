import type { Migration } from './db.ts';

/**
 * Every schema change, in order. Append only: a released migration is never edited.
 * Each feature appends its own named entries here.
 */
export const migrations: readonly Migration[] = [
  {
    name: '0001-core-ingest',
    sql: `
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        service TEXT NOT NULL,
        error_code TEXT NOT NULL,
        correlation_id TEXT,
        details TEXT NOT NULL,
        priority TEXT NOT NULL,
        ts INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        message TEXT,
        source TEXT NOT NULL
      );
      CREATE INDEX events_correlation ON events (correlation_id, ts);
      CREATE INDEX events_service ON events (service, ts);
      CREATE INDEX events_service_code ON events (service, error_code, ts);
      CREATE INDEX events_ts ON events (ts);

      CREATE TABLE logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER NOT NULL,
        service TEXT NOT NULL,
        level INTEGER NOT NULL,
        message TEXT NOT NULL,
        correlation_id TEXT,
        attributes TEXT,
        source TEXT NOT NULL
      );
      CREATE INDEX logs_correlation ON logs (correlation_id, ts) WHERE correlation_id IS NOT NULL;
      CREATE INDEX logs_service ON logs (service, ts);
      CREATE INDEX logs_service_level ON logs (service, level, ts) WHERE level >= 2;
      CREATE INDEX logs_ts ON logs (ts);

      CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at INTEGER NOT NULL,
        source TEXT NOT NULL,
        topic TEXT,
        reason TEXT NOT NULL,
        payload BLOB NOT NULL
      );
      CREATE INDEX dead_letters_received ON dead_letters (received_at);

      CREATE TABLE system_maps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stored_at INTEGER NOT NULL,
        origin TEXT NOT NULL,
        yaml TEXT NOT NULL
      );
    `,
  },
  {
    name: '0002-changes',
    sql: `
      CREATE TABLE changes (
        id TEXT PRIMARY KEY,
        origin TEXT NOT NULL,
        kind TEXT NOT NULL,
        service TEXT,
        ts INTEGER NOT NULL,
        summary TEXT NOT NULL,
        files TEXT NOT NULL,
        diff TEXT,
        author TEXT,
        url TEXT,
        repo TEXT,
        sha TEXT,
        detail INTEGER NOT NULL DEFAULT 1,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX changes_ts ON changes (ts);
      CREATE INDEX changes_service ON changes (service, ts);
      CREATE UNIQUE INDEX changes_repo_sha ON changes (repo, sha) WHERE sha IS NOT NULL;
      CREATE INDEX changes_missing_detail ON changes (ts) WHERE detail = 0;

      CREATE TABLE change_services (
        change_id TEXT NOT NULL REFERENCES changes (id) ON DELETE CASCADE,
        service TEXT NOT NULL,
        ts INTEGER NOT NULL,
        PRIMARY KEY (change_id, service)
      ) WITHOUT ROWID;
      CREATE INDEX change_services_service ON change_services (service, ts);
    `,
  },
  {
    name: '0002-github-cache',
    sql: `
      CREATE TABLE github_etags (
        url TEXT PRIMARY KEY,
        etag TEXT NOT NULL,
        shas TEXT NOT NULL,
        has_next INTEGER NOT NULL,
        checked_at INTEGER NOT NULL
      );
      CREATE INDEX github_etags_checked ON github_etags (checked_at);

      CREATE TABLE github_compares (
        change_id TEXT PRIMARY KEY REFERENCES changes (id) ON DELETE CASCADE,
        repo TEXT,
        base TEXT,
        head TEXT,
        state TEXT NOT NULL,
        commits TEXT,
        error TEXT,
        checked_at INTEGER NOT NULL
      );
    `,
  },
  {
    name: '0007-ui-users-chat-feedback',
    sql: `
      CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        session_gen INTEGER NOT NULL DEFAULT 0
      );

      CREATE TABLE chat_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        report_id TEXT NOT NULL,
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        citations TEXT,
        answered_by TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX chat_messages_report ON chat_messages (report_id, id);
      CREATE INDEX chat_messages_created ON chat_messages (created_at);

      CREATE TABLE chat_reads (
        user TEXT NOT NULL,
        channel TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (user, channel)
      ) WITHOUT ROWID;

      CREATE TABLE feedback (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        report_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        error_code TEXT NOT NULL,
        verdict TEXT NOT NULL,
        root_service TEXT NOT NULL,
        change_id TEXT,
        note TEXT,
        ranked TEXT NOT NULL,
        model_version TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX feedback_report ON feedback (report_id, id);
      CREATE INDEX feedback_context ON feedback (event_type, error_code, id);

      CREATE TABLE learn_models (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        version TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        adjustments TEXT NOT NULL,
        figures TEXT NOT NULL,
        feedback_count INTEGER NOT NULL,
        reason TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX learn_models_status ON learn_models (status, id);
    `,
  },
  {
    name: '0004-outbox',
    sql: `
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        kind TEXT NOT NULL,
        report_id TEXT NOT NULL,
        incident_id TEXT,
        idempotency_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        maybe_sent INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        claimed_at INTEGER,
        sent_at INTEGER,
        last_error TEXT,
        result TEXT
      );
      CREATE INDEX outbox_channel_status ON outbox (channel, status, id);
      CREATE INDEX outbox_status ON outbox (status, id);
      CREATE INDEX outbox_incident ON outbox (channel, incident_id, kind, status) WHERE incident_id IS NOT NULL;

      CREATE TABLE llm_usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        tokens INTEGER NOT NULL
      );
      CREATE INDEX llm_usage_at ON llm_usage (at);
    `,
  },
  {
    name: '0003-reports',
    sql: `
      CREATE TABLE reports (
        id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        correlation_id TEXT,
        event_type TEXT NOT NULL,
        service TEXT NOT NULL,
        resolved_service TEXT NOT NULL,
        top_service TEXT,
        error_code TEXT NOT NULL,
        station_id TEXT,
        event_ts INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        summary TEXT NOT NULL,
        source TEXT NOT NULL,
        revision INTEGER NOT NULL,
        model_version TEXT NOT NULL,
        incident_id TEXT,
        changes_from_cache INTEGER NOT NULL,
        hypotheses TEXT NOT NULL
      );
      CREATE INDEX reports_created ON reports (created_at);
      CREATE INDEX reports_event ON reports (event_id);
      CREATE INDEX reports_correlation ON reports (correlation_id, created_at) WHERE correlation_id IS NOT NULL;
      CREATE INDEX reports_service ON reports (service, created_at);
      CREATE INDEX reports_resolved ON reports (resolved_service, created_at);
      CREATE INDEX reports_top ON reports (top_service, created_at);
      CREATE INDEX reports_incident ON reports (incident_id, created_at);

      CREATE TABLE report_revisions (
        report_id TEXT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
        revision INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        summary TEXT NOT NULL,
        hypotheses TEXT NOT NULL,
        explanation TEXT,
        next_steps TEXT,
        PRIMARY KEY (report_id, revision)
      ) WITHOUT ROWID;
      CREATE INDEX report_revisions_created ON report_revisions (created_at);

      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        storm_key TEXT NOT NULL,
        service TEXT NOT NULL,
        change TEXT,
        count INTEGER NOT NULL,
        first_ts INTEGER NOT NULL,
        last_ts INTEGER NOT NULL,
        first_report_id TEXT NOT NULL,
        last_report_id TEXT NOT NULL,
        summary TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX incidents_key ON incidents (storm_key, last_ts);
      CREATE INDEX incidents_updated ON incidents (updated_at);
    `,
  },
  {
    name: '0003-log-patterns',
    sql: `
      -- Hourly counts of each warn/error/fatal message pattern per service (numbers and ids
      -- stripped), filled in the background from logs: new-versus-chronic in one lookup per pattern.
      CREATE TABLE log_patterns (
        service TEXT NOT NULL,
        pattern TEXT NOT NULL,
        hour INTEGER NOT NULL,
        count INTEGER NOT NULL,
        first_ts INTEGER NOT NULL,
        last_ts INTEGER NOT NULL,
        PRIMARY KEY (service, pattern, hour)
      ) WITHOUT ROWID;
      CREATE INDEX log_patterns_last ON log_patterns (last_ts);
      CREATE TABLE log_pattern_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_log_id INTEGER NOT NULL
      );
    `,
  },
  {
    name: '0004-outbox-open-index',
    sql: `
      -- The head of a channel (oldest undelivered row) in O(log n) however many rows wait.
      CREATE INDEX outbox_open ON outbox (channel, id) WHERE status IN ('pending', 'inflight');
    `,
  },
  {
    name: '0008-events-one-service-index',
    sql: `
      -- One index serves "a service's events in a window" and "a failure's occurrences in a window"
      -- (the code is checked inside the index): every ingested event pays one B-tree insert fewer.
      DROP INDEX events_service;
      DROP INDEX events_service_code;
      CREATE INDEX events_service_ts ON events (service, ts, error_code);
    `,
  },
  {
    name: '0009-log-batch-keys',
    sql: `
      -- The Idempotency-Key of each committed POST /api/logs batch and how many lines it stored:
      -- a retry whose first answer was lost is answered from here instead of stored twice. One row
      -- per batch (not a unique index per line) keeps the log path at one B-tree insert per batch.
      CREATE TABLE log_batches (
        key TEXT PRIMARY KEY,
        accepted INTEGER NOT NULL,
        received_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX log_batches_received ON log_batches (received_at);
    `,
  },
  {
    name: '0010-report-links',
    sql: `
      -- Edges the map may be missing and earlier diagnoses a report cites (JSON, usually NULL), and
      -- "reports of triggers in the minutes before T" for cascades, by event time.
      ALTER TABLE reports ADD COLUMN links TEXT;
      CREATE INDEX reports_event_ts ON reports (event_ts);
    `,
  },
  {
    name: '0011-dead-letter-size',
    sql: `
      -- Dead letters keep a bounded prefix of their payload; this is the size of the whole payload.
      ALTER TABLE dead_letters ADD COLUMN size INTEGER;
    `,
  },
  {
    name: '0012-chat-report-reads',
    sql: `
      -- Reports a user has opened: they no longer count as unread in any channel.
      CREATE TABLE chat_report_reads (
        user TEXT NOT NULL,
        report_id TEXT NOT NULL,
        read_at INTEGER NOT NULL,
        PRIMARY KEY (user, report_id)
      ) WITHOUT ROWID;
      CREATE INDEX chat_report_reads_at ON chat_report_reads (read_at);
    `,
  },
  {
    name: 'cluster-0001-sync-state',
    sql: `
      -- Issue 13: what has been published to Redis (the reports stream cursor, by report rowid) and
      -- this store's id among the instances; one row per name.
      CREATE TABLE sync_state (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
