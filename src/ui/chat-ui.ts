import { Hono } from 'hono';
import { createBunWebSocket } from 'hono/bun';
import type { BunWebSocketHandler } from 'hono/bun';
import { apiRoleGuard, createFeedbackApi } from './api-routes.ts';
import { createAdminRoutes } from './admin-routes.tsx';
import { createAuthRoutes, sessionGate } from './auth-routes.tsx';
import { createChatRoutes } from './chat-routes.tsx';
import { createLiveHub } from './live-hub.tsx';
import type { UiDeps, UiEnv } from './ui-deps.ts';

export interface ChatUi {
  /** Mount before every other route: role checks for session callers of /api and /webhook. */
  guard: Hono;
  /** /chat pages and the feedback/learning API. */
  routes: Hono[];
  /** For createHttpApp: a valid session admits a browser to /api and /webhook without an API key. */
  alternativeAuth(req: Request): Promise<boolean>;
  /** For Bun.serve({ websocket }). */
  websocket: BunWebSocketHandler<unknown>;
  /** Open chat sockets. */
  sockets(): number;
  stop(): void;
}

/** The chat UI feature: built from its dependencies, subscribed to report notices for live updates. */
export function createChatUi(deps: UiDeps): ChatUi {
  const { upgradeWebSocket, websocket } = createBunWebSocket();
  const hub = createLiveHub({
    graph: () => deps.maps.current().graph,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
    incidentCount: (id) => deps.reports.incidents(50).find((i) => i.id === id)?.count,
  });
  deps.reports.onReport((notice) => {
    try {
      hub.publish(notice);
    } catch (err) {
      deps.logger.error('live update failed', { error: String(err) });
    }
  });
  deps.metrics.gauge('tracepulse_ui_sockets', 'Open chat WebSocket connections', () => [
    { value: hub.size() },
  ]);

  const guard = new Hono();
  const roles = apiRoleGuard(deps);
  guard.use('/api/*', roles);
  guard.use('/webhook/*', roles);

  const pages = new Hono<UiEnv>();
  pages.use('/chat/*', sessionGate(deps));
  pages.route('/', createAuthRoutes(deps));
  pages.route('/', createAdminRoutes(deps));
  pages.route('/', createChatRoutes(deps, hub, upgradeWebSocket));

  return {
    guard,
    routes: [pages as unknown as Hono, createFeedbackApi(deps) as unknown as Hono],
    alternativeAuth: async (req) => (await deps.sessions.read(req)) !== null,
    websocket: websocket as BunWebSocketHandler<unknown>,
    sockets: () => hub.size(),
    stop: () => hub.closeAll(),
  };
}
