import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { TracePulseError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';

const statusOf: Record<TracePulseError['code'], 400 | 401 | 403 | 404 | 409 | 413 | 422 | 500 | 502 | 503> = {
  BAD_INPUT: 400,
  TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  STORAGE: 503,
  UPSTREAM_TRANSIENT: 502,
  UPSTREAM_PERMANENT: 502,
  CONFIG: 500,
};

export interface HttpAppOptions {
  apiKeys: string[];
  maxBodyBytes: number;
  logger: Logger;
  metrics: Metrics;
  /** Extra authentication (e.g. a UI session) that may admit a request without an API key. */
  alternativeAuth?: (req: Request) => Promise<boolean> | boolean;
  /** Routers mounted under the guarded paths and beside them. */
  routes: Hono[];
  /** Routes that stay open: /healthz and /metrics. */
  openRoutes: Hono[];
}

/** API-key (or session) check for /api and /webhook: a 401 response, or null when admitted. */
export type RequestGuard = (req: Request) => Response | null | Promise<Response | null>;

export function createRequestGuard(
  options: Pick<HttpAppOptions, 'apiKeys' | 'alternativeAuth' | 'metrics'>,
): RequestGuard {
  const deny = () => {
    options.metrics.inc('tracepulse_rejected_total', { source: 'http', reason: 'unauthorized' });
    return Response.json(
      { error: 'unauthorized', problems: ['missing or unknown API key (Authorization: Bearer KEY)'] },
      { status: 401 },
    );
  };
  // Synchronous unless a session check has to wait: the ingest hot path pays no promise for an admitted key.
  return (req) => {
    if (!options.apiKeys.length) return null;
    if (hasApiKey(req, options.apiKeys)) return null;
    if (!options.alternativeAuth) return deny();
    return Promise.resolve(options.alternativeAuth(req)).then((ok) => (ok ? null : deny()));
  };
}

/** True when the request carries one of `keys` as `Authorization: Bearer KEY`. */
export function hasApiKey(req: Request, keys: string[]): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '');
  return !!m && keys.includes(m[1]!.trim());
}

/**
 * The one mapping from a thrown error to a JSON answer, for Hono's onError, the fast route and
 * Bun.serve's `error`: typed errors by their code, anything else a logged 500 without details.
 */
export function errorResponse(err: unknown, path: string, logger: Logger): Response {
  if (err instanceof TracePulseError) {
    const status = statusOf[err.code];
    if (status >= 500)
      logger.error('request failed', { path, code: err.code, error: String(err.cause ?? err) });
    return Response.json({ error: err.message, problems: err.problems }, { status });
  }
  logger.error('unhandled request error', { path, error: err instanceof Error ? err.stack : String(err) });
  return Response.json({ error: 'internal error' }, { status: 500 });
}

/**
 * The ingest hot path as a Bun.serve route, in front of Hono's router. Only machines take it: a
 * valid API key, or no cookie when no keys are set, with a declared Content-Length within the limit.
 * Everything else (browser sessions, whose role and same-origin checks live in Hono; chunked
 * bodies; unauthenticated requests) goes through Hono. Errors get the same answer as in Hono.
 */
export function fastRoute(
  handler: (req: Request) => Promise<Response>,
  options: {
    apiKeys: string[];
    maxBodyBytes: number;
    fallback: (req: Request) => Response | Promise<Response>;
    logger: Logger;
  },
): (req: Request) => Promise<Response> {
  const { apiKeys } = options;
  return async (req) => {
    const length = req.headers.get('content-length');
    const machine = apiKeys.length ? hasApiKey(req, apiKeys) : !req.headers.has('cookie');
    if (!machine || length === null || Number(length) > options.maxBodyBytes) return options.fallback(req);
    try {
      return await handler(req);
    } catch (err) {
      return errorResponse(err, '/webhook/event', options.logger);
    }
  };
}

/** Builds the Hono app: body limit, API-key auth for /api and /webhook, error mapping. */
export function createHttpApp(options: HttpAppOptions): Hono {
  const app = new Hono();
  const check = createRequestGuard(options);
  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) => {
      options.metrics.inc('tracepulse_rejected_total', { source: 'http', reason: 'too_large' });
      return c.json(
        { error: 'body too large', problems: [`body exceeds ${options.maxBodyBytes} bytes`] },
        413,
      );
    },
  });
  const guard: MiddlewareHandler = async (c, next) => (await check(c.req.raw)) ?? next();
  // The push receivers (issue 12) sit at the paths their shippers expect, with the same guard and limit.
  for (const p of ['/api/*', '/webhook/*', '/loki/api/v1/push', '/v1/logs']) {
    app.use(p, guard);
    app.use(p, limit);
  }
  for (const r of options.openRoutes) app.route('/', r);
  for (const r of options.routes) app.route('/', r);

  app.notFound((c) =>
    c.json({ error: 'not found', problems: [`no route for ${c.req.method} ${c.req.path}`] }, 404),
  );
  app.onError((err, c) => errorResponse(err, c.req.path, options.logger));
  // Hono compiles its route table on the first match; do it now, as part of start-up, not in a request.
  app.router.match('GET', '/');
  return app;
}
