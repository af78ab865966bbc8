/** @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { isRole } from '../auth/roles.ts';
import { TracePulseError } from '../core/errors.ts';
import { requireRole } from './auth-routes.tsx';
import { buildChannels } from './channels.ts';
import type { UiDeps, UiEnv } from './ui-deps.ts';
import { AdminView } from './views/admin.tsx';
import { Layout } from './views/layout.tsx';

/** /chat/admin: admins list, add and remove users and change roles (which ends the user's sessions). */
export function createAdminRoutes(deps: UiDeps): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  app.use('/chat/admin', requireRole('admin'));
  app.use('/chat/admin/*', requireRole('admin'));

  const page = (
    c: Context<UiEnv>,
    notice?: { kind: 'ok' | 'error'; text: string },
    status: 200 | 400 | 404 | 409 = 200,
  ) => {
    const session = c.get('session');
    const channels = buildChannels({
      reports: deps.reports.recent(500),
      graph: deps.maps.current().graph,
      incidents: deps.reports.incidents(20),
      stationIds: [deps.stationId],
      seen: deps.chat.seen(session.name),
      defaultSeen: deps.users.get(session.name)?.createdAt ?? 0,
    });
    return c.html(
      <Layout title="Users" session={session} channels={channels} current={null} stationId={deps.stationId}>
        <AdminView session={session} users={deps.users.list()} notice={notice} />
      </Layout>,
      status,
    );
  };

  app.get('/chat/admin', (c) => {
    const done = c.req.query('done');
    return page(c, done ? { kind: 'ok', text: done.slice(0, 200) } : undefined);
  });

  app.post('/chat/admin/users', async (c) => {
    const f = await c.req.parseBody();
    const name = typeof f.name === 'string' ? f.name.trim() : '';
    const role = typeof f.role === 'string' ? f.role : '';
    const password = typeof f.password === 'string' ? f.password : '';
    if (!isRole(role)) return page(c, { kind: 'error', text: 'unknown role' }, 400);
    try {
      await deps.users.add(name, password, role, deps.clock.now());
    } catch (err) {
      if (err instanceof TracePulseError && (err.code === 'BAD_INPUT' || err.code === 'CONFLICT'))
        return page(c, { kind: 'error', text: err.problems.join('; ') }, err.code === 'CONFLICT' ? 409 : 400);
      throw err;
    }
    deps.logger.info('user added', { user: name, role, by: c.get('session').name });
    return c.redirect(`/chat/admin?done=${encodeURIComponent(`added ${name} (${role})`)}`, 303);
  });

  app.post('/chat/admin/users/:name/role', async (c) => {
    const name = c.req.param('name');
    const f = await c.req.parseBody();
    const role = typeof f.role === 'string' ? f.role : '';
    if (!isRole(role)) return page(c, { kind: 'error', text: 'unknown role' }, 400);
    if (name === c.get('session').name && role !== 'admin')
      return page(c, { kind: 'error', text: 'you cannot take away your own admin role' }, 400);
    if (!deps.users.setRole(name, role)) return page(c, { kind: 'error', text: `no user ${name}` }, 404);
    deps.logger.info('user role changed', { user: name, role, by: c.get('session').name });
    return c.redirect(`/chat/admin?done=${encodeURIComponent(`${name} is now ${role}`)}`, 303);
  });

  app.post('/chat/admin/users/:name/remove', (c) => {
    const name = c.req.param('name');
    if (name === c.get('session').name)
      return page(c, { kind: 'error', text: 'you cannot remove yourself' }, 400);
    if (!deps.users.remove(name)) return page(c, { kind: 'error', text: `no user ${name}` }, 404);
    deps.logger.info('user removed', { user: name, by: c.get('session').name });
    return c.redirect(`/chat/admin?done=${encodeURIComponent(`removed ${name}`)}`, 303);
  });
  return app;
}
