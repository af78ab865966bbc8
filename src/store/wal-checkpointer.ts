import type { Database } from 'bun:sqlite';
import { type Clock, type Scheduler, systemClock, systemScheduler, type Timer } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { BUSY_TIMEOUT_MS } from './db.ts';

/**
 * WAL checkpoints on a thread of their own while ingest is sustained.
 *
 * Under WAL + synchronous=NORMAL the checkpoint is the only place SQLite fsyncs (the WAL, then the
 * database file). Run by the committing connection, every wal_autocheckpoint pages the thread that
 * answers HTTP requests and PUBACKs sits in those fsyncs; on a gateway's eMMC that is tens of
 * milliseconds with nothing acknowledged. Here a worker with its own connection copies pages and
 * fsyncs in the background (PASSIVE: writers go on). Once the WAL passes `restartPages`, the main
 * connection itself runs a RESTART checkpoint right after a background pass, between two commits:
 * only the frames written since are left to copy, and the next commit starts the WAL over. The worker
 * cannot do that part: a writer that commits back to back never lets its busy handler in.
 *
 * The worker costs ~10 MB, so it starts only when commits are sustained and stops after a quiet
 * spell, handing checkpoints back to SQLite's autocheckpoint. Durability does not depend on it: a
 * committed row is in the WAL either way; this only moves where the copy and its fsyncs happen.
 */
export interface WalCheckpointer {
  /** Called after each commit of ingested rows; starts the worker once the rate is sustained. */
  noteCommitted(rows: number): void;
  /** Whether the background thread is running (for /healthz and tests). */
  readonly active: boolean;
  stop(): Promise<void>;
}

export interface WalCheckpointerOptions {
  /** Rows per second, held for one second, that start the worker. */
  startRowsPerSecond?: number;
  /** Stop the worker after this long without a sustained second. */
  idleStopMs?: number;
  /** The WAL size (pages) at which the worker restarts it. */
  restartPages?: number;
  /** Between background checkpoints. */
  intervalMs?: number;
  /** The autocheckpoint given back to the main connection when the worker is not running. */
  autocheckpointPages: number;
  logger: Logger;
  metrics?: Metrics;
  /** The commit rate's window and the quiet spell (tests pass a manual clock and advance it). */
  clock?: Clock;
  scheduler?: Scheduler;
}

// The worker's code, self-contained so it needs no extra entry point in the compiled executable.
const workerSource = `
import { Database } from 'bun:sqlite';
let db = null;
let timer = null;
self.onmessage = (m) => {
  const msg = m.data;
  if (msg.type === 'start') {
    try {
      db = new Database(msg.path);
      db.exec('PRAGMA busy_timeout = 2000');
    } catch (err) {
      postMessage({ type: 'error', error: String(err) });
      return;
    }
    const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
    const tick = () => {
      try {
        const r = passive.get();
        if (r) postMessage({ type: 'pass', log: r.log, checkpointed: r.checkpointed });
      } catch (err) {
        postMessage({ type: 'error', error: String(err) });
      }
      timer = setTimeout(tick, msg.intervalMs);
    };
    timer = setTimeout(tick, msg.intervalMs);
    postMessage({ type: 'started' });
  } else if (msg.type === 'stop') {
    clearTimeout(timer);
    try { db?.close(); } catch {}
    postMessage({ type: 'stopped' });
  }
};
`;

export function createWalCheckpointer(
  db: Database,
  path: string,
  options: WalCheckpointerOptions,
): WalCheckpointer {
  const startRate = options.startRowsPerSecond ?? 2000;
  const idleStopMs = options.idleStopMs ?? 60_000;
  const restartPages = options.restartPages ?? options.autocheckpointPages;
  const intervalMs = options.intervalMs ?? 100;
  const log = options.logger;
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? systemScheduler;
  options.metrics?.gauge(
    'tracepulse_wal_checkpoint_thread',
    'Whether WAL checkpoints run on their own thread (1) or inline (0)',
    () => [{ value: worker ? 1 : 0 }],
  );
  options.metrics?.describe(
    'tracepulse_wal_restarts_total',
    'WAL restarts run between commits after a background pass',
  );
  const countRestart = options.metrics?.counter('tracepulse_wal_restarts_total');

  let worker: Worker | null = null;
  let windowStart = clock.now();
  let windowRows = 0;
  let lastBusy = 0;
  let idleTimer: Timer | null = null;
  let stopped = false;
  // One failure and the worker is not tried again: inline checkpoints are the safe default.
  let failed = false;
  const setAutocheckpoint = (pages: number) => db.exec(`PRAGMA wal_autocheckpoint = ${pages}`);

  const start = () => {
    const url = URL.createObjectURL(new Blob([workerSource], { type: 'application/javascript' }));
    const w = new Worker(url, { smol: true });
    worker = w;
    w.onmessage = (m: MessageEvent<{ type: string; error?: string; log?: number }>) => {
      if (m.data.type === 'pass' && worker === w) restartIfLong(m.data.log ?? 0);
      // The worker loads its code asynchronously: the URL must outlive the constructor.
      if (m.data.type === 'started') URL.revokeObjectURL(url);
      if (m.data.type === 'started' && worker === w) {
        // Only now: until the worker has its connection, SQLite keeps checkpointing as before.
        setAutocheckpoint(0);
        log.info('background WAL checkpoints on', { restartPages });
      } else if (m.data.type === 'error') {
        log.error('background WAL checkpoint failed; back to inline checkpoints', { error: m.data.error });
        failed = true;
        void halt(w);
      }
    };
    w.onerror = (e) => {
      log.error('WAL checkpoint thread failed; back to inline checkpoints', { error: String(e.message) });
      failed = true;
      void halt(w);
    };
    w.postMessage({ type: 'start', path, intervalMs });
    idleTimer = scheduler.every(Math.min(idleStopMs, 10_000), () => {
      if (clock.now() - lastBusy > idleStopMs) void halt(w);
    });
  };

  const restartCheckpoint = db.prepare('PRAGMA wal_checkpoint(RESTART)');
  /**
   * Runs between two commits, just after a background pass. Past 4 x restartPages the worker is not
   * keeping up and this one waits for it (back-pressure, as inline checkpoints give); below that it
   * does not wait and the next pass tries again.
   */
  const restartIfLong = (logPages: number) => {
    if (logPages < restartPages) return;
    const wait = logPages >= 4 * restartPages;
    try {
      if (!wait) db.exec('PRAGMA busy_timeout = 0');
      const r = restartCheckpoint.get() as { busy: number } | null;
      if (r && !r.busy) countRestart?.();
    } catch (err) {
      log.warn('WAL restart checkpoint failed; the next pass retries', { error: String(err) });
    } finally {
      if (!wait) db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  };

  /** Gives checkpoints back to the main connection, then ends the worker once its connection is closed. */
  const halt = async (w: Worker) => {
    if (worker !== w) return;
    worker = null;
    idleTimer?.cancel();
    idleTimer = null;
    setAutocheckpoint(options.autocheckpointPages);
    // A real timer: this waits for the worker thread's answer, not for a period of the service.
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 2_000);
      w.onmessage = (m: MessageEvent<{ type: string }>) => {
        if (m.data.type === 'stopped') {
          clearTimeout(done);
          resolve();
        }
      };
      w.postMessage({ type: 'stop' });
    });
    w.terminate();
    log.info('background WAL checkpoints off');
  };

  return {
    noteCommitted(rows) {
      if (stopped || failed) return;
      windowRows += rows;
      const now = clock.now();
      if (now - windowStart < 1000) return;
      if ((windowRows * 1000) / (now - windowStart) >= startRate) {
        lastBusy = now;
        if (!worker) start();
      }
      windowStart = now;
      windowRows = 0;
    },
    get active() {
      return worker !== null;
    },
    async stop() {
      stopped = true;
      if (worker) await halt(worker);
    },
  };
}
