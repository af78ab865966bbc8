import type { Database } from 'bun:sqlite';
import { readFileSync, statSync } from 'node:fs';
import { type Scheduler, systemScheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { MapState, SystemMapSource } from '../map/map-source.ts';
import { type MapProblem, parseSystemMap } from '../map/system-map.ts';

export type { MapState, SystemMapSource } from '../map/map-source.ts';

const emptyGraph = () => {
  const r = parseSystemMap('services: {}\n');
  if (!r.ok) throw new Error('unreachable: empty map is valid');
  return r.graph;
};

/**
 * Holds the system map in force. Sources: the YAML file (reloaded when it changes) and PUT
 * /api/system-map (stored in SQLite). At start the newer of the two wins.
 */
export function createSystemMapSource(options: {
  path: string;
  db: Database;
  logger: Logger;
  /** The file's poll (tests advance a manual clock). Map times stay wall-clock: they are compared with the file's mtime. */
  scheduler?: Scheduler;
  watchIntervalMs?: number;
}): SystemMapSource {
  const { path, db, logger } = options;
  const listeners: Array<(s: MapState) => void> = [];
  let state: MapState = {
    graph: emptyGraph(),
    yaml: '',
    origin: 'empty',
    loadedAt: 0,
    warnings: [],
    lastError: null,
  };

  const apply = (yaml: string, origin: 'file' | 'api', at: number): MapProblem[] | null => {
    const r = parseSystemMap(yaml);
    if (!r.ok) {
      state = { ...state, lastError: { at, origin, problems: r.problems } };
      logger.error('system map rejected; keeping the last good map', {
        origin,
        problems: r.problems.map((p) => p.message).join('; '),
      });
      return r.problems;
    }
    state = { graph: r.graph, yaml, origin, loadedAt: at, warnings: r.warnings, lastError: null };
    for (const w of r.warnings) logger.warn('system map warning', { message: w.message });
    logger.info('system map loaded', { origin, services: r.graph.services.size });
    for (const l of listeners) l(state);
    return null;
  };

  const fileMtime = (): number | null => {
    try {
      return statSync(path).mtimeMs;
    } catch {
      return null;
    }
  };
  const readFile = (): string | null => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  };

  const stored = db
    .query<{ yaml: string; stored_at: number }, []>(
      'SELECT yaml, stored_at FROM system_maps ORDER BY id DESC LIMIT 1',
    )
    .get();
  const mtime = fileMtime();
  if (stored && (mtime === null || stored.stored_at >= mtime)) {
    apply(stored.yaml, 'api', stored.stored_at);
    // Not silently: whoever edits the file next must know it is not what is in force.
    if (mtime !== null)
      logger.warn(
        `the map from PUT /api/system-map is in force, not ${path}: it is newer than the file; edit the file or PUT again to change it`,
        { storedAt: new Date(stored.stored_at).toISOString(), fileModifiedAt: new Date(mtime).toISOString() },
      );
  } else if (mtime !== null) {
    const text = readFile();
    if (text !== null) apply(text, 'file', Date.now());
  } else logger.warn('no system map file; starting with an empty map', { path });

  let lastMtime = mtime;
  const onFileChange = () => {
    const m = fileMtime();
    if (m === null || m === lastMtime) return;
    lastMtime = m;
    const text = readFile();
    if (text !== null) apply(text, 'file', Date.now());
  };
  // Polling survives editors that replace the file by rename, which an inotify watch on the file loses.
  const poll = (options.scheduler ?? systemScheduler).every(options.watchIntervalMs ?? 1000, onFileChange);

  return {
    current: () => state,
    put(yaml) {
      const now = Date.now();
      const problems = apply(yaml, 'api', now);
      if (problems) return { ok: false, problems };
      db.query('INSERT INTO system_maps (stored_at, origin, yaml) VALUES (?, ?, ?)').run(now, 'api', yaml);
      return { ok: true, warnings: state.warnings };
    },
    onChange: (l) => {
      listeners.push(l);
    },
    stop: () => poll.cancel(),
  };
}
