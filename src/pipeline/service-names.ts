import type { Database } from 'bun:sqlite';

/**
 * The distinct service names used in stored logs and events, so that a log sent as
 * "EvseManager" or "evse-manager-1" is found for the map's evse_manager_1. Read with a loose index
 * scan (one index seek per distinct name, not a table scan) and cached for `ttlMs`.
 */
export function createServiceNames(
  db: Database,
  options: { now: () => number; ttlMs?: number; max?: number },
) {
  const ttl = options.ttlMs ?? 30_000;
  const max = options.max ?? 20_000;
  const nextLog = db.prepare<{ service: string }, [string]>(
    'SELECT service FROM logs WHERE service > ? ORDER BY service LIMIT 1',
  );
  const nextEvent = db.prepare<{ service: string }, [string]>(
    'SELECT service FROM events WHERE service > ? ORDER BY service LIMIT 1',
  );
  let cached: string[] = [];
  let at = Number.NEGATIVE_INFINITY;

  const scan = (next: typeof nextLog, into: Set<string>) => {
    let last = '';
    for (let i = 0; i < max; i++) {
      const row = next.get(last);
      if (!row) break;
      into.add(row.service);
      last = row.service;
    }
  };

  return {
    /** Every distinct name (logs and events), at most `ttlMs` old. */
    all(): string[] {
      const now = options.now();
      if (now - at > ttl) {
        const names = new Set<string>();
        scan(nextLog, names);
        scan(nextEvent, names);
        cached = [...names];
        at = now;
      }
      return cached;
    },
  };
}
