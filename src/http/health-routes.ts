import type { Database } from 'bun:sqlite';
import { Hono } from 'hono';
import type { Metrics } from '../core/metrics.ts';
import type { SystemMapSource } from '../sources/system-map-source.ts';

export interface HealthDeps {
  db: Database;
  /** Whether writes succeed (a full disk makes them fail while reads still work). */
  store: () => { writable: boolean; lastError: string | null; freeBytes: number | null };
  maps: SystemMapSource;
  metrics: Metrics;
  version: string;
  stationId: string;
  /** Further components by name (MQTT, GitHub, rules, outbox), read at request time. */
  components: Record<string, () => unknown>;
}

/**
 * GET /healthz (each component's state; 503 when the store is unusable: "failing" when it cannot be
 * read, "degraded" when it can be read but writes fail, e.g. on a full disk) and GET /metrics.
 */
export function createHealthRoutes(deps: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    let storeOk = true;
    try {
      deps.db.query('SELECT 1').get();
    } catch {
      storeOk = false;
    }
    const writes = deps.store();
    const map = deps.maps.current();
    const extra = Object.fromEntries(Object.entries(deps.components).map(([name, read]) => [name, read()]));
    const body = {
      status: !storeOk ? 'failing' : writes.writable ? 'ok' : 'degraded',
      version: deps.version,
      stationId: deps.stationId,
      uptimeS: Math.round(process.uptime()),
      components: {
        store: {
          ok: storeOk && writes.writable,
          writable: writes.writable,
          lastError: writes.lastError,
          freeBytes: writes.freeBytes,
        },
        systemMap: {
          ok: map.lastError === null,
          services: map.graph.services.size,
          origin: map.origin,
          lastError: map.lastError?.problems ?? null,
        },
        ...extra,
      },
    };
    return c.json(body, storeOk && writes.writable ? 200 : 503);
  });
  app.get('/metrics', (c) =>
    c.text(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );
  return app;
}
