/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import type { UpgradeWebSocket } from 'hono/ws';
import type { Session } from '../auth/session.ts';
import type { Report } from '../core/report.ts';
import { addDependency } from '../map/map-edit.ts';
import { answerLocally } from './answer/answer-question.ts';
import { assets } from './assets/assets.ts';
import { requireRole } from './auth-routes.tsx';
import { buildChannels, channelTitle, reportsIn } from './channels.ts';
import type { LiveHub } from './live-hub.tsx';
import { answerFacts, threadData } from './thread-data.ts';
import type { UiDeps, UiEnv } from './ui-deps.ts';
import { LearningView } from './views/admin.tsx';
import { ChannelView } from './views/channel.tsx';
import { BarePage, Layout } from './views/layout.tsx';
import { Thread, type ThreadProps } from './views/thread.tsx';

/** Reports the sidebar and channels look at: the newest, bounded for a small gateway. */
const recentLimit = 500;
const channelLimit = 100;

/** The chat pages: channels, threads, questions, feedback form, learning status, live socket, assets. */
export function createChatRoutes(
  deps: UiDeps,
  hub: LiveHub,
  upgradeWebSocket: UpgradeWebSocket,
): Hono<UiEnv> {
  const app = new Hono<UiEnv>();
  const graph = () => deps.maps.current().graph;

  // Read marks are a convenience: a store that cannot be written (a full disk) still serves the page.
  let markFailures = 0;
  const remember = (mark: () => void) => {
    try {
      mark();
    } catch (err) {
      if (markFailures++ % 100 === 0)
        deps.logger.warn('read mark not stored', { error: String(err), failures: markFailures });
    }
  };

  const shell = (session: Session, current: string | null, recent: Report[]) => {
    const user = deps.users.get(session.name);
    const incidents = deps.reports.incidents(20);
    return {
      incidents,
      channels: buildChannels({
        reports: recent,
        graph: graph(),
        incidents,
        stationIds: [deps.stationId],
        seen: deps.chat.seen(session.name),
        defaultSeen: user?.createdAt ?? 0,
        read: deps.chat.readAmong(
          session.name,
          recent.map((r) => r.id),
        ),
      }).map((c) => (c.id === current ? { ...c, unread: 0 } : c)),
    };
  };

  app.get('/chat/assets/:file', (c) => {
    const a = assets.get(c.req.path);
    if (!a) return c.text('not found', 404);
    return c.body(a.body, 200, {
      'content-type': a.type,
      'cache-control': 'public, max-age=31536000, immutable',
    });
  });

  app.get('/chat', (c) => c.redirect('/chat/c/all', 302));

  app.get('/chat/c/:channel', (c) => {
    const session = c.get('session');
    const channel = c.req.param('channel');
    if (!/^(?:all|(?:station|service|incident):.{1,200})$/.test(channel))
      return c.text('unknown channel', 404);
    const recent = deps.reports.recent(recentLimit);
    const { channels, incidents } = shell(session, channel, recent);
    const list = reportsIn(channel, recent, graph());
    const shown = list.slice(0, channelLimit);
    remember(() => deps.chat.markSeen(session.name, channel, deps.clock.now()));
    return c.html(
      <Layout
        title={`#${channelTitle(channel)}`}
        session={session}
        channels={channels}
        current={channel}
        stationId={deps.stationId}
      >
        <ChannelView
          title={channelTitle(channel)}
          reports={shown}
          incidentCounts={new Map(incidents.map((i) => [i.id, i.count]))}
          questions={deps.chat.questionCounts(shown.map((r) => r.id))}
          truncated={list.length > shown.length}
        />
      </Layout>,
    );
  });

  const renderThread = (
    session: Session,
    report: Report,
    status: 200 | 400 | 403 | 422,
    notice?: ThreadProps['notice'],
  ) => {
    const { channels } = shell(session, null, deps.reports.recent(recentLimit));
    const data = threadData(deps, report);
    const g = graph();
    return [
      <Layout
        title={`${report.eventType} on ${report.service}`}
        session={session}
        channels={channels}
        current={null}
        stationId={deps.stationId}
      >
        <Thread
          report={report}
          session={session}
          {...data}
          messages={deps.chat.forReport(report.id)}
          feedback={deps.feedback.forReport(report.id)}
          mapSuggestions={(report.mapSuggestions ?? []).map((m) => ({
            ...m,
            inMap:
              g.services.get(g.resolve(m.service) ?? m.service)?.dependsOn.includes(m.dependsOn) ?? false,
          }))}
          backTo={{ href: '/chat/c/all', label: 'all-reports' }}
          notice={notice}
        />
      </Layout>,
      status,
    ] as const;
  };
  const notFound = () => (
    <BarePage title="Not found">
      <p class="notice error">No such report (it may have been removed by retention).</p>
      <a href="/chat">Back</a>
    </BarePage>
  );

  app.get('/chat/r/:id', (c) => {
    const report = deps.reports.get(c.req.param('id'));
    if (!report) return c.html(notFound(), 404);
    const fb = c.req.query('fb');
    const added = c.req.query('map');
    const notice: ThreadProps['notice'] =
      fb === 'ok'
        ? { kind: 'ok', text: 'Feedback stored. Learning will replay it through the gate.' }
        : added
          ? { kind: 'ok', text: `Added to the system map: ${added.slice(0, 200)}.` }
          : undefined;
    remember(() => deps.chat.markRead(c.get('session').name, report.id, deps.clock.now()));
    const [page, status] = renderThread(c.get('session'), report, 200, notice);
    return c.html(page, status);
  });

  app.post('/chat/r/:id/ask', requireRole('engineer'), async (c) => {
    const session = c.get('session');
    const report = deps.reports.get(c.req.param('id'));
    if (!report) return c.html(notFound(), 404);
    const form = await c.req.parseBody();
    const question = typeof form.question === 'string' ? form.question.trim().slice(0, 1000) : '';
    if (!question) {
      const [page] = renderThread(session, report, 400, { kind: 'error', text: 'Type a question first.' });
      return c.html(page, 400);
    }
    deps.chat.add({
      reportId: report.id,
      author: session.name,
      kind: 'question',
      text: question,
      citations: [],
      answeredBy: null,
      createdAt: deps.clock.now(),
    });
    const facts = answerFacts(deps, report);
    const local = answerLocally(question, facts);
    const answer = deps.llm ? await deps.llm(question, facts, local) : local;
    deps.metrics.inc('tracepulse_ui_questions_total', {
      answeredBy: answer.answeredBy,
      intent: answer.intent,
    });
    const stored = deps.chat.add({
      reportId: report.id,
      author: 'tracepulse',
      kind: 'answer',
      text: answer.text,
      citations: answer.citations,
      answeredBy: answer.answeredBy,
      createdAt: deps.clock.now(),
    });
    return c.redirect(`/chat/r/${encodeURIComponent(report.id)}#m-${stored.id}`, 303);
  });

  app.post('/chat/feedback', requireRole('engineer'), async (c) => {
    const session = c.get('session');
    const form = await c.req.parseBody();
    const reportId = typeof form.reportId === 'string' ? form.reportId : '';
    const body = Object.fromEntries(
      ['verdict', 'rootService', 'changeId', 'note'].flatMap((k) =>
        typeof form[k] === 'string' ? [[k, form[k]]] : [],
      ),
    );
    const r = deps.intake.give(reportId, body, session);
    if (!r.ok) {
      const report = deps.reports.get(reportId);
      if (!report) return c.html(notFound(), 404);
      const [page] = renderThread(session, report, 400, { kind: 'error', text: r.problems.join('; ') });
      return c.html(page, 400);
    }
    return c.redirect(`/chat/r/${encodeURIComponent(reportId)}?fb=ok#h-fb`, 303);
  });

  // "Add to map": applies one of the report's map suggestions through the PUT /api/system-map path.
  app.post('/chat/r/:id/map-suggestion', requireRole('engineer'), async (c) => {
    const session = c.get('session');
    const report = deps.reports.get(c.req.param('id'));
    if (!report) return c.html(notFound(), 404);
    const form = await c.req.parseBody();
    const service = typeof form.service === 'string' ? form.service : '';
    const dependsOn = typeof form.dependsOn === 'string' ? form.dependsOn : '';
    const fail = (status: 400 | 422, problems: string[]) => {
      const [page] = renderThread(session, report, status, {
        kind: 'error',
        text: `Not added to the map: ${problems.join('; ')}`,
      });
      return c.html(page, status);
    };
    // Only what the report suggests: this is a one-click fix, not a general map editor (that is PUT, for admins).
    if (!report.mapSuggestions?.some((m) => m.service === service && m.dependsOn === dependsOn))
      return fail(400, [`the report does not suggest ${service || '?'} depends_on ${dependsOn || '?'}`]);
    const g = graph();
    const edit = addDependency(
      deps.maps.current().yaml,
      g.resolve(service) ?? service,
      g.resolve(dependsOn) ?? dependsOn,
    );
    if (!edit.ok) return fail(422, edit.problems);
    if (edit.changed) {
      const put = deps.maps.put(edit.yaml);
      if (!put.ok)
        return fail(
          422,
          put.problems.map((x) => x.message),
        );
      deps.logger.info('system map edge added from a report', {
        reportId: report.id,
        service,
        dependsOn,
        by: session.name,
        rewritten: edit.rewritten,
      });
    }
    const label = `${service} depends_on ${dependsOn}${edit.changed ? '' : ' (it was already there)'}`;
    return c.redirect(`/chat/r/${encodeURIComponent(report.id)}?map=${encodeURIComponent(label)}#h-map`, 303);
  });

  app.get('/chat/learning', (c) => {
    const session = c.get('session');
    const { channels } = shell(session, null, deps.reports.recent(recentLimit));
    return c.html(
      <Layout
        title="Learning"
        session={session}
        channels={channels}
        current={null}
        stationId={deps.stationId}
      >
        <LearningView
          active={deps.learning.current().version}
          models={deps.learning.history(50)}
          feedbackCount={deps.feedback.count()}
          enabled={deps.learning.enabled}
        />
      </Layout>,
    );
  });

  app.get(
    '/chat/ws',
    async (c, next) => {
      // Cross-site WebSocket hijacking: browsers send Origin on the handshake; it must be this host.
      const origin = c.req.header('origin');
      if (origin && URL.parse(origin)?.host !== new URL(c.req.url).host)
        return c.text('cross-origin socket refused', 403);
      return next();
    },
    upgradeWebSocket((c) => {
      const session = c.get('session');
      return {
        onOpen: (_e, ws) => {
          if (!hub.join(ws, session)) ws.close(1013, 'too many connections');
        },
        onMessage: (e, ws) => {
          if (typeof e.data !== 'string' || e.data.length > 1000) return;
          try {
            const m = JSON.parse(e.data) as { type?: string; channel?: string };
            const channel = m.channel;
            if (m.type === 'seen' && typeof channel === 'string' && channel.length <= 256)
              remember(() => deps.chat.markSeen(session.name, channel, deps.clock.now()));
          } catch {
            ws.close(1003, 'bad message');
          }
        },
        onClose: (_e, ws) => hub.leave(ws),
      };
    }),
  );

  return app;
}
