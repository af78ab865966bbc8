import { Hono } from 'hono';
import type { IngestIntake } from './intake.ts';
import type { PushOptions } from './loki-push.ts';

/**
 * POST /loki/api/v1/push and POST /v1/logs, their receivers imported on the first request: a
 * gateway no shipper pushes to pays nothing for them at start-up.
 */
export function createPushRoutes(sink: IngestIntake, options: PushOptions): Hono {
  const app = new Hono();
  let loki: Promise<Hono> | null = null;
  let otlp: Promise<Hono> | null = null;
  app.post('/loki/api/v1/push', async (c) => {
    loki ??= import('./loki-push.ts').then((m) => m.createLokiPushRoutes(sink, options));
    return (await loki).fetch(c.req.raw);
  });
  app.post('/v1/logs', async (c) => {
    otlp ??= import('./otlp.ts').then((m) => m.createOtlpRoutes(sink, options));
    return (await otlp).fetch(c.req.raw);
  });
  return app;
}
