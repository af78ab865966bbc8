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
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '');
    if (m && options.apiKeys.includes(m[1]!.trim())) return null;
    if (!options.alternativeAuth) return deny();
    return Promise.resolve(options.alternativeAuth(req)).then((ok) => (ok ? null : deny()));
  };
}

/**
 * The ingest hot path as a Bun.serve route, in front of Hono's router: the same guard, and a
 * declared Content-Length within the limit; anything else (chunked bodies) goes through Hono.
 */
export function fastRoute(
  handler: (req: Request) => Promise<Response>,
  options: {
    guard: RequestGuard;
    maxBodyBytes: number;
    fallback: (req: Request) => Response | Promise<Response>;
  },
): (req: Request) => Promise<Response> {
  return async (req) => {
    const length = req.headers.get('content-length');
    if (length === null || Number(length) > options.maxBodyBytes) return options.fallback(req);
    const denied = options.guard(req);
    if (denied === null) return handler(req);
    return (await denied) ?? handler(req);
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
  for (const p of ['/api/*', '/webhook/*']) {
    app.use(p, guard);
    app.use(p, limit);
  }
  for (const r of options.openRoutes) app.route('/', r);
  for (const r of options.routes) app.route('/', r);

  app.notFound((c) =>
    c.json({ error: 'not found', problems: [`no route for ${c.req.method} ${c.req.path}`] }, 404),
  );
  app.onError((err, c) => {
    if (err instanceof TracePulseError) {
      const status = statusOf[err.code];
      if (status >= 500)
        options.logger.error('request failed', {
          path: c.req.path,
          code: err.code,
          error: String(err.cause ?? err),
        });
      return c.json({ error: err.message, problems: err.problems }, status);
    }
    options.logger.error('unhandled request error', {
      path: c.req.path,
      error: err instanceof Error ? err.stack : String(err),
    });
    return c.json({ error: 'internal error' }, 500);
  });
  // Hono compiles its route table on the first match; do it now, as part of start-up, not in a request.
  app.router.match('GET', '/');
  return app;
}
