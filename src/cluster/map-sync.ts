import { statSync } from 'node:fs';
import type { Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { MapState, SystemMapSource } from '../map/map-source.ts';
import type { RedisLink } from './redis-link.ts';

/** The map in force, mirrored to Redis (`<prefix>map`: {yaml, at, by}) and announced on the same channel. */
export interface MapSync {
  state(): { syncedAt: number | null; lastError: string | null };
  stop(): void;
}

const RECHECK_MS = 5000;

interface Mirrored {
  yaml: string;
  /** When the map was made: PUT time, or the file's modification time. */
  at: number;
  by: string;
}

/**
 * Conflict rule: the newest map wins, by when it was made (a PUT's time, the file's modification
 * time), wherever it was made. At start the local choice (file or stored PUT, whichever is newer)
 * is compared with Redis's; afterwards every PUT or file edit here is newer and is published, and
 * every published map newer than ours is applied (stored like a PUT, so it survives restarts).
 * Redis away: the local map stays in force; on reconnect the comparison runs again.
 */
export function startMapSync(deps: {
  link: RedisLink;
  maps: SystemMapSource;
  mapPath: string;
  instanceId: string;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** The periodic re-check (tests advance a manual clock). */
  scheduler: Scheduler;
}): MapSync {
  const { link, maps, logger } = deps;
  const key = `${link.prefix}map`;
  let applying = false;
  let syncedAt: number | null = null;
  let lastError: string | null = null;
  /** When the map in force was made, as far as this instance knows. */
  let localAt = madeAt(maps.current(), deps.mapPath);
  metrics(deps.metrics);

  const publish = async (state: MapState, at: number) => {
    const body: Mirrored = { yaml: state.yaml, at, by: deps.instanceId };
    const json = JSON.stringify(body);
    await link.send('SET', [key, json]);
    await link.send('PUBLISH', [key, json]);
    syncedAt = deps.now();
    deps.metrics.inc('tracepulse_cluster_map_sync_total', { direction: 'published' });
  };

  const consider = (raw: unknown) => {
    if (typeof raw !== 'string') return;
    let m: Mirrored;
    try {
      m = JSON.parse(raw) as Mirrored;
    } catch {
      lastError = 'the map in Redis is not JSON';
      return;
    }
    if (typeof m.yaml !== 'string' || typeof m.at !== 'number') return;
    syncedAt = deps.now();
    if (m.at <= localAt || m.yaml === maps.current().yaml) {
      localAt = Math.max(localAt, m.at);
      return;
    }
    applying = true;
    try {
      const r = maps.put(m.yaml);
      if (r.ok) {
        localAt = m.at;
        deps.metrics.inc('tracepulse_cluster_map_sync_total', { direction: 'applied' });
        logger.info('system map from another instance applied', {
          by: m.by,
          at: new Date(m.at).toISOString(),
        });
      } else {
        lastError = `map from ${m.by} rejected: ${r.problems.map((p) => p.message).join('; ')}`;
        logger.error('system map from Redis rejected; keeping ours', { by: m.by });
      }
    } finally {
      applying = false;
    }
  };

  const reconcile = async () => {
    try {
      const raw = await link.send('GET', [key]);
      const theirs = typeof raw === 'string' ? (JSON.parse(raw) as Mirrored) : null;
      const current = maps.current();
      if (current.origin !== 'empty' && (!theirs || theirs.at < localAt) && current.yaml !== theirs?.yaml)
        await publish(current, localAt);
      else consider(raw);
      lastError = null;
    } catch (err) {
      lastError = String(err);
    }
  };

  maps.onChange((state) => {
    if (applying) return;
    localAt = state.origin === 'file' ? (fileMtime(deps.mapPath) ?? deps.now()) : deps.now();
    if (!link.connected()) return; // published by reconcile() on reconnect
    publish(state, localAt).catch((err) => {
      lastError = String(err);
    });
  });
  link.subscribe(key, consider);
  link.onConnect(() => void reconcile());
  if (link.connected()) void reconcile();
  // Belt and braces for a missed message (a subscriber connection that dropped alone): one GET now and then.
  const timer = deps.scheduler.every(RECHECK_MS, () => {
    if (link.connected()) void reconcile();
  });

  return {
    state: () => ({ syncedAt, lastError }),
    stop: () => timer.cancel(),
  };
}

function metrics(m: Metrics) {
  m.describe('tracepulse_cluster_map_sync_total', 'System maps published to or applied from Redis');
}

function fileMtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function madeAt(state: MapState, path: string): number {
  if (state.origin === 'file') return fileMtime(path) ?? state.loadedAt;
  return state.loadedAt;
}
