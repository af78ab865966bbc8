/** @jsxImportSource hono/jsx */
import { Hono, type MiddlewareHandler } from 'hono';
import { getConnInfo } from 'hono/bun';
import { csrf } from 'hono/csrf';
import { atLeast, type Role } from '../auth/roles.ts';
import type { UiDeps, UiEnv } from './ui-deps.ts';
import { BarePage } from './views/layout.tsx';
import { LoginPage } from './views/login.tsx';

/** Only same-site paths under /chat may be a login's destination (no open redirect). */
export const safeNext = (next: unknown): string =>
  typeof next === 'string' &&
  /^\/chat(?:[/?#]|$)/.test(next) &&
  !next.startsWith('//') &&
  // A CR/LF (or any control character) would make an invalid Location header.
  ![...next].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)
    ? next
    : '/chat';

function clientIp(c: Parameters<MiddlewareHandler>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (app.request) have no socket
  }
}

const originCheck = csrf();
/** hono/csrf's Origin / Sec-Fetch-Site check as a yes/no (csrf() itself throws a 403 HTTPException). */
async function sameOrigin(c: Parameters<MiddlewareHandler>[0]): Promise<boolean> {
  try {
    await originCheck(c, async () => {});
    return true;
  } catch {
    return false;
  }
}

/**
 * Session gate for /chat: pages without a session redirect to the login page; form posts need the
 * same origin (hono/csrf) and the session's CSRF token. Login and the static assets stay open.
 */
export function sessionGate(deps: UiDeps): MiddlewareHandler<UiEnv> {
  return async (c, next) => {
    const path = c.req.path;
    if (path === '/chat/login' || path.startsWith('/chat/assets/')) return next();
    const session = await deps.sessions.read(c.req.raw);
    if (!session) {
      if (c.req.method === 'GET' && path !== '/chat/ws')
        return c.redirect(`/chat/login?next=${encodeURIComponent(path + new URL(c.req.url).search)}`, 302);
      return c.text('login required', 401);
    }
    c.set('session', session);
    if (c.req.method === 'POST') {
      const form = (await sameOrigin(c)) ? await c.req.parseBody() : null;
      if (
        !form ||
        !deps.sessions.checkCsrf(session, typeof form._csrf === 'string' ? form._csrf : undefined)
      ) {
        deps.metrics.inc('tracepulse_ui_csrf_rejected_total');
        return c.text('cross-site request refused', 403);
      }
    }
    return next();
  };
}

/** Refuses with 403 unless the session's role is at least `role`. */
export const requireRole =
  (role: Role): MiddlewareHandler<UiEnv> =>
  async (c, next) => {
    if (!atLeast(c.get('session').role, role))
      return c.html(
        <BarePage title="Not allowed">
          <p class="notice error" role="alert">
            Your role ({c.get('session').role}) cannot do this; it needs {role}.
          </p>
          <a href="/chat">Back</a>
        </BarePage>,
        403,
      );
    return next();
  };

/** GET/POST /chat/login and POST /chat/logout. */
export function createAuthRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.get('/chat/login', async (c) => {
    const next = safeNext(c.req.query('next'));
    if (await deps.sessions.read(c.req.raw)) return c.redirect(next, 302);
    return c.html(<LoginPage next={next} noUsers={deps.users.count() === 0} />);
  });
  // Login CSRF: only a same-origin form may log a browser in.
  app.post('/chat/login', async (c) => {
    if (!(await sameOrigin(c))) {
      deps.metrics.inc('tracepulse_ui_csrf_rejected_total');
      return c.text('cross-site request refused', 403);
    }
    const form = await c.req.parseBody();
    const name = typeof form.name === 'string' ? form.name.trim().slice(0, 64) : '';
    const password = typeof form.password === 'string' ? form.password.slice(0, 1024) : '';
    const next = safeNext(form.next);
    const key = `${clientIp(c)}|${name.toLowerCase()}`;
    const wait = deps.loginLimiter.hit(key);
    if (wait) {
      deps.metrics.inc('tracepulse_ui_logins_total', { outcome: 'rate_limited' });
      c.header('Retry-After', String(wait));
      return c.html(
        <LoginPage
          next={next}
          name={name}
          noUsers={false}
          error={`Too many attempts; try again in ${wait} s.`}
        />,
        429,
      );
    }
    const user = name && password ? await deps.users.verify(name, password) : null;
    if (!user) {
      deps.metrics.inc('tracepulse_ui_logins_total', { outcome: 'failed' });
      return c.html(
        <LoginPage
          next={next}
          name={name}
          noUsers={deps.users.count() === 0}
          error="Unknown user or wrong password."
        />,
        401,
      );
    }
    deps.loginLimiter.reset(key);
    deps.metrics.inc('tracepulse_ui_logins_total', { outcome: 'ok' });
    deps.logger.info('user logged in', { user: user.name, role: user.role });
    await deps.sessions.start(c, user);
    return c.redirect(next, 303);
  });
  app.post('/chat/logout', (c) => {
    deps.sessions.end(c);
    return c.redirect('/chat/login', 303);
  });
  return app;
}
