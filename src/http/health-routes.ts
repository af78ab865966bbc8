import type { Database } from 'bun:sqlite';
import { Hono } from 'hono';
import type { Metrics } from '../core/metrics.ts';
import type { SystemMapSource } from '../sources/system-map-source.ts';

export interface HealthDeps {
  db: Database;
  maps: SystemMapSource;
  metrics: Metrics;
  version: string;
  stationId: string;
  /** Further components by name (MQTT, GitHub, rules, outbox), read at request time. */
  components: Record<string, () => unknown>;
}

/** GET /healthz (each component's state; 503 only when the store is unusable) and GET /metrics. */
export function createHealthRoutes(deps: HealthDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => {
    let storeOk = true;
    try {
      deps.db.query('SELECT 1').get();
    } catch {
      storeOk = false;
    }
    const map = deps.maps.current();
    const extra = Object.fromEntries(Object.entries(deps.components).map(([name, read]) => [name, read()]));
    const body = {
      status: storeOk ? 'ok' : 'failing',
      version: deps.version,
      stationId: deps.stationId,
      uptimeS: Math.round(process.uptime()),
      components: {
        store: { ok: storeOk },
        systemMap: {
          ok: map.lastError === null,
          services: map.graph.services.size,
          origin: map.origin,
          lastError: map.lastError?.problems ?? null,
        },
        ...extra,
      },
    };
    return c.json(body, storeOk ? 200 : 503);
  });
  app.get('/metrics', (c) =>
    c.text(deps.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );
  return app;
}
