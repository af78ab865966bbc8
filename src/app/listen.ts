import type { Hono } from 'hono';
import type { BunWebSocketHandler } from 'hono/bun';
import type { Config } from '../config/config.ts';
import type { Logger } from '../core/logger.ts';
import { errorResponse, fastRoute } from '../http/server.ts';
import { createEventReceiver } from '../ingest/http.ts';
import type { IngestIntake } from '../ingest/intake.ts';
import { StartupError } from './startup-error.ts';

const errCode = (err: unknown): string =>
  String((err as { code?: unknown })?.code ?? (err instanceof Error ? err.message : err));

/**
 * Binds the HTTP server: POST /webhook/event on Bun's own router (the fast path), everything else
 * through the Hono app; a port that cannot be bound is a StartupError with exit code 69.
 */
export function listen(deps: {
  config: Config;
  http: Hono;
  intake: IngestIntake;
  websocket: BunWebSocketHandler<unknown>;
  logger: Logger;
}): ReturnType<typeof Bun.serve> {
  const { config, http } = deps;
  const logger = deps.logger.child('http');
  try {
    return Bun.serve({
      port: config.TRACEPULSE_PORT,
      hostname: config.TRACEPULSE_HOST,
      routes: {
        '/webhook/event': {
          POST: fastRoute(createEventReceiver(deps.intake), {
            apiKeys: config.TRACEPULSE_API_KEYS,
            maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
            fallback: (req) => http.fetch(req),
            logger,
          }),
        },
      },
      fetch: http.fetch,
      // Never Bun's developer error page (stack, working directory, source): the one JSON error answer.
      development: false,
      error: (err) => errorResponse(err, '', logger),
      websocket: deps.websocket,
      // Hono's bodyLimit answers 413 with a JSON body; Bun's own cap only guards against abuse.
      maxRequestBodySize: Math.max(config.TRACEPULSE_MAX_BODY_BYTES * 4, 16 * 1024 * 1024),
    });
  } catch (cause) {
    const inUse = /EADDRINUSE|in use/i.test(`${errCode(cause)} ${String(cause)}`);
    throw new StartupError(
      `cannot listen on ${config.TRACEPULSE_HOST} port ${config.TRACEPULSE_PORT}: ${inUse ? 'address in use' : String(cause)} (TRACEPULSE_HOST, TRACEPULSE_PORT)`,
      69,
      { cause },
    );
  }
}
