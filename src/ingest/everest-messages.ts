import type { SystemGraph } from '../map/graph.ts';
import {
  EVEREST_ERROR,
  type EverestContext,
  isDefaultTriggerError,
  type Translation,
  translateError,
  unwrap,
} from './everest-translate.ts';
import { translateSessionEvent, translateSessionInfo } from './everest-sessions.ts';
import { apiError, nameOf, type Route } from './everest-topics.ts';
import { serviceFor } from './service-for.ts';

// Bounds on what is remembered between messages (open sessions, last snapshots).
const MAX_SESSIONS = 256;
const MAX_ACTIVE_ERRORS = 2000;

/**
 * Translates EVerest messages by route (everest-translate.ts), keeping what they mean only
 * together: the open session of each EvseManager, each EVSE's last session_info, the last set of
 * active errors.
 */
export function createEverestMessages(graph: () => SystemGraph): {
  /** What the message says; null for a message of a kind TracePulse does not read. */
  translate(route: Route, json: unknown): Translation | null;
} {
  const sessions = new Map<string, string>();
  const sessionInfo = new Map<string, string>();
  let activeErrors: Set<string> | null = null;
  const ctx: EverestContext = {
    service: (moduleId) => serviceFor(graph(), moduleId),
    isTrigger: (type) => {
      const t = graph().triggers;
      return t.has(EVEREST_ERROR) || t.has(type) || t.has(type.slice(type.lastIndexOf('/') + 1))
        ? true
        : isDefaultTriggerError(type);
    },
    sessionFor: (service) => {
      const own = sessions.get(service);
      if (own) return own;
      // A fault in a dependency (bsp, powermeter) belongs to the one EvseManager with an open session.
      const open = graph()
        .dependents(service)
        .map((d) => sessions.get(d))
        .filter((s): s is string => !!s);
      return open.length === 1 ? (open[0] as string) : null;
    },
    noteSession: (service, sessionId) => {
      sessions.delete(service);
      if (sessionId) sessions.set(service, sessionId);
      if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    },
  };

  /** everest_api/errors/var/active_errors is republished every second: only new uuids raise, vanished ones clear. */
  function translateActiveErrors(json: unknown): Translation {
    if (!Array.isArray(json)) return { ok: false, reason: 'invalid_active_errors: expected a JSON array' };
    const now = new Map<string, unknown>();
    const items: Translation & { ok: true } = { ok: true, items: [] };
    for (const [i, e] of json.entries()) {
      const uuid =
        e && typeof e === 'object' && 'uuid' in e ? String((e as { uuid: unknown }).uuid) : `#${i}`;
      now.set(uuid, e);
      if (activeErrors?.has(uuid)) continue;
      const r = translateError(e, { topicModule: 'everest_api', cleared: false, ctx });
      if (!r.ok) return { ok: false, reason: `${r.reason} (item ${i})` };
      items.items.push(...r.items);
    }
    for (const uuid of activeErrors ?? [])
      if (!now.has(uuid))
        items.items.push({
          kind: 'log',
          input: {
            service: 'everest_api',
            level: 'info',
            message: `EVerest error no longer active (error ${uuid})`,
            attributes: { errorId: uuid, state: 'Cleared' },
          },
        });
    activeErrors = new Set([...now.keys()].slice(0, MAX_ACTIVE_ERRORS));
    return items;
  }

  return {
    translate(route, json) {
      switch (route.kind) {
        case 'error': {
          const { msgType, data } = unwrap(json);
          return translateError(data, {
            topicModule: route.module,
            topicImpl: route.impl,
            cleared: msgType === 'ClearError' ? true : msgType === 'RaiseError' ? false : undefined,
            ctx,
          });
        }
        case 'var': {
          // {msg_type: Var, data: {data: value}} on .../var/NAME; older frameworks: {name, data} on .../var.
          const { data } = unwrap(json);
          const named = route.name ?? nameOf(data);
          if (named !== 'session_event') return null;
          const value =
            data && typeof data === 'object' && 'data' in data ? (data as { data: unknown }).data : data;
          return translateSessionEvent(value, { module: route.module, ctx });
        }
        case 'api-session-event':
          return translateSessionEvent(json, { module: route.module, ctx });
        case 'api-error':
          return translateError(apiError(json, route.apiType), {
            topicModule: route.module,
            cleared: route.cleared,
            ctx,
          });
        case 'active-errors':
          return translateActiveErrors(json);
        case 'session-info': {
          const r = translateSessionInfo(json, {
            evse: route.module,
            previous: sessionInfo.get(route.module),
            ctx,
          });
          if (r.ok && r.key) {
            sessionInfo.delete(route.module);
            sessionInfo.set(route.module, r.key);
            if (sessionInfo.size > MAX_SESSIONS)
              sessionInfo.delete(sessionInfo.keys().next().value as string);
          }
          return r;
        }
      }
    },
  };
}
