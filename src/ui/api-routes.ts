import { Hono, type MiddlewareHandler } from 'hono';
import { type Actor, atLeast } from '../auth/roles.ts';
import { isoTime } from '../core/time.ts';
import type { UiDeps } from './ui-deps.ts';

type ApiEnv = { Variables: { actor: Actor } };

const safe = (m: string) => m === 'GET' || m === 'HEAD' || m === 'OPTIONS';

/** True when the request carries one of the configured API keys. */
export const hasApiKey = (req: Request, keys: string[]): boolean => {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '');
  return !!m && keys.includes(m[1]!.trim());
};

/**
 * Roles for browser sessions on /api and /webhook (API keys keep full access for machines): viewers
 * read, engineers may also write, PUT /api/system-map needs an admin. A session's unsafe request must
 * come from this origin. Mounted before every other /api route; sets `actor` for the handlers.
 */
export function apiRoleGuard(
  deps: Pick<UiDeps, 'sessions' | 'apiKeys' | 'metrics'>,
): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (hasApiKey(c.req.raw, deps.apiKeys)) {
      c.set('actor', { name: 'api-key', role: 'admin', via: 'api-key' });
      return next();
    }
    const session = await deps.sessions.read(c.req.raw);
    if (!session) {
      // Only reachable when no API keys are configured (the open, development set-up).
      c.set('actor', { name: 'anonymous', role: 'admin', via: 'api-key' });
      return next();
    }
    const method = c.req.method;
    const needed =
      method === 'PUT' && c.req.path === '/api/system-map' ? 'admin' : safe(method) ? 'viewer' : 'engineer';
    if (!atLeast(session.role, needed)) {
      deps.metrics.inc('tracepulse_rejected_total', { source: 'http', reason: 'forbidden' });
      return c.json(
        {
          error: 'forbidden',
          problems: [`role ${session.role} cannot ${method} ${c.req.path}; needs ${needed}`],
        },
        403,
      );
    }
    if (!safe(method)) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      const sameOrigin = origin
        ? URL.parse(origin)?.host === new URL(c.req.url).host
        : site === undefined || site === 'same-origin';
      if (!sameOrigin)
        return c.json({ error: 'forbidden', problems: ['cross-site request with a session cookie'] }, 403);
    }
    c.set('actor', session);
    return next();
  };
}

/** POST/GET /api/reports/:id/feedback and GET /api/learning. */
export function createFeedbackApi(deps: UiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post('/api/reports/:id/feedback', async (c) => {
    const actor = c.get('actor');
    if (!atLeast(actor.role, 'engineer'))
      return c.json({ error: 'forbidden', problems: ['giving feedback needs the engineer role'] }, 403);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (e) {
      return c.json({ error: 'invalid input', problems: [`malformed JSON: ${(e as Error).message}`] }, 400);
    }
    const r = deps.intake.give(c.req.param('id'), body, actor);
    if (!r.ok)
      return c.json(
        { error: r.status === 404 ? 'not found' : 'invalid feedback', problems: r.problems },
        r.status,
      );
    return c.json(
      {
        feedback: { ...r.feedback, createdAt: isoTime(r.feedback.createdAt) },
        learning: !deps.learning.enabled
          ? 'off'
          : r.outside
            ? `not a candidate of this report: recorded, but the ranking learns only among its candidates (${r.feedback.rootService} may be missing from the map's depends_on)`
            : 'queued',
      },
      201,
    );
  });
  app.get('/api/reports/:id/feedback', (c) =>
    c.json({
      feedback: deps.feedback
        .forReport(c.req.param('id'))
        .map((f) => ({ ...f, createdAt: isoTime(f.createdAt) })),
    }),
  );
  app.get('/api/learning', (c) =>
    c.json({
      enabled: deps.learning.enabled,
      active: deps.learning.current(),
      history: deps.learning.history(50).map((m) => ({ ...m, createdAt: isoTime(m.createdAt) })),
    }),
  );
  return app;
}
