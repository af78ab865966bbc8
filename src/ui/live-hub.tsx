/** @jsxImportSource hono/jsx */
import type { WSContext } from 'hono/ws';
import type { Session } from '../auth/session.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ReportNotice } from '../core/ports.ts';
import type { SystemGraph } from '../map/graph.ts';
import { channelsOf } from './channels.ts';
import { ReportMessage } from './views/report-message.tsx';

export interface LiveHub {
  /** Registers a socket for a session; false when the hub is full. */
  join(ws: WSContext, session: Session): boolean;
  leave(ws: WSContext): void;
  /** Sends one report notice to every socket. */
  publish(notice: ReportNotice): void;
  size(): number;
  closeAll(): void;
}

/**
 * Fans report notices out to the open chat pages. Each message carries the report rendered as the
 * channel's <li> (escaped by hono/jsx) and the channels it belongs to; the client decides where it goes.
 */
export function createLiveHub(options: {
  graph: () => SystemGraph;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  incidentCount: (incidentId: string) => number | undefined;
  maxSockets?: number;
  /** Sockets one user may hold (tabs, windows), so one user cannot take every slot. */
  maxSocketsPerUser?: number;
}): LiveHub {
  const { clock, metrics } = options;
  const maxSockets = options.maxSockets ?? 256;
  const maxPerUser = options.maxSocketsPerUser ?? 8;
  const sockets = new Map<WSContext, Session>();
  const perUser = new Map<string, number>();
  const find = (ws: WSContext) => {
    for (const k of sockets.keys()) if (k.raw === ws.raw) return k;
    return null;
  };
  const drop = (ws: WSContext) => {
    const session = sockets.get(ws);
    if (!session) return;
    sockets.delete(ws);
    const held = (perUser.get(session.name) ?? 1) - 1;
    if (held > 0) perUser.set(session.name, held);
    else perUser.delete(session.name);
  };
  return {
    join(ws, session) {
      if (sockets.size >= maxSockets) {
        metrics.inc('tracepulse_ui_ws_rejected_total', { reason: 'full' });
        return false;
      }
      const held = perUser.get(session.name) ?? 0;
      if (held >= maxPerUser) {
        metrics.inc('tracepulse_ui_ws_rejected_total', { reason: 'per_user' });
        return false;
      }
      sockets.set(ws, session);
      perUser.set(session.name, held + 1);
      return true;
    },
    leave(ws) {
      const k = find(ws);
      if (k) drop(k);
    },
    publish(notice) {
      if (!sockets.size) return;
      const r = notice.report;
      const count =
        notice.kind === 'incident'
          ? notice.count
          : r.incidentId
            ? options.incidentCount(r.incidentId)
            : undefined;
      const payload = JSON.stringify({
        type: 'report',
        kind: notice.kind,
        reportId: r.id,
        channels: channelsOf(r, options.graph()),
        incidentId: notice.kind === 'incident' ? notice.incidentId : r.incidentId,
        count,
        html: String(<ReportMessage report={r} incidentCount={count} />),
      });
      const now = clock.now();
      for (const [ws, session] of sockets) {
        if (session.expiresAt <= now) {
          ws.send(JSON.stringify({ type: 'expired' }));
          ws.close(4001, 'session expired');
          drop(ws);
          continue;
        }
        try {
          ws.send(payload);
          metrics.inc('tracepulse_ui_ws_sent_total');
        } catch (err) {
          metrics.inc('tracepulse_ui_ws_send_failed_total');
          options.logger.debug('websocket send failed', { error: String(err) });
          drop(ws);
        }
      }
    },
    size: () => sockets.size,
    closeAll() {
      for (const ws of sockets.keys()) ws.close(1001, 'server stopping');
      sockets.clear();
      perUser.clear();
    },
  };
}
