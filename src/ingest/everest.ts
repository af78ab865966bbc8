import type { MqttClient } from 'mqtt';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { mqttEndpoint } from '../core/mqtt-url.ts';
import type { SystemGraph } from '../map/graph.ts';
import {
  EVEREST_ERROR,
  type EverestContext,
  isDefaultTriggerError,
  type Translation,
  translateError,
  translateSessionEvent,
  translateSessionInfo,
  unwrap,
} from './everest-translate.ts';
import { DEAD_LETTER_PREFIX_BYTES } from '../store/ingest-writer.ts';
import { deferPubacksUntilCommitted, maxPacketSizeFor } from './mqtt.ts';
import { decodeUtf8, toDebugEvent, toLogLine } from './normalize.ts';
import { serviceFor } from './service-for.ts';
import type { IngestIntake } from './intake.ts';

export interface EverestReceiverOptions {
  url: string;
  /** EVerest's own prefix, with its trailing slash (`everest/`). */
  prefix: string;
  /** The API modules' prefix (`everest_api/`). */
  apiPrefix: string;
  clientId: string;
  sink: IngestIntake;
  graph: () => SystemGraph;
  logger: Logger;
  metrics: Metrics;
  /** Largest payload taken (TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES, as mqtt.ts); larger ones are dead-lettered unparsed. */
  maxPayloadBytes: number;
}

export interface EverestReceiver {
  state(): { connected: boolean; subscribed: boolean; lastError: string | null };
  stop(): Promise<void>;
}

// Bounds on what is remembered between messages (open sessions, last snapshots).
const MAX_SESSIONS = 256;
const MAX_ACTIVE_ERRORS = 2000;

/**
 * Listens to a stock EVerest on its own broker topics and translates errors and session events
 * (everest-translate.ts) into the ingest sink. Same durability as mqtt.ts: QoS 1, a persistent
 * session, and each PUBACK held until the message's rows are committed; a payload that cannot be
 * translated is acknowledged and dead-lettered with its topic and reason.
 */
export async function startEverestReceiver(options: EverestReceiverOptions): Promise<EverestReceiver> {
  const { connect } = await import('mqtt');
  const { sink, prefix: p, apiPrefix: a, logger, metrics } = options;
  const status = { connected: false, subscribed: false, lastError: null as string | null };
  metrics.describe('tracepulse_everest_messages_total', 'EVerest MQTT messages, by kind and outcome');
  const topics = [
    `${p}modules/+/impl/+/error/#`,
    `${p}modules/+/impl/+/var/session_event`,
    `${p}modules/+/impl/+/var`,
    `${p}+/+/error/#`,
    `${p}+/+/var`,
    `${a}errors/var/active_errors`,
    `${a}+/var/session_info`,
    `${a}1/+/+/e2m/session_event`,
    `${a}1/+/+/e2m/error_raised`,
    `${a}1/+/+/e2m/error_cleared`,
    `${a}1/+/+/m2e/raise_error`,
    `${a}1/+/+/m2e/clear_error`,
  ];

  const sessions = new Map<string, string>();
  const sessionInfo = new Map<string, string>();
  let activeErrors: Set<string> | null = null;
  const ctx: EverestContext = {
    service: (moduleId) => serviceFor(options.graph(), moduleId),
    isTrigger: (type) => {
      const t = options.graph().triggers;
      return t.has(EVEREST_ERROR) || t.has(type) || t.has(type.slice(type.lastIndexOf('/') + 1))
        ? true
        : isDefaultTriggerError(type);
    },
    sessionFor: (service) => {
      const own = sessions.get(service);
      if (own) return own;
      // A fault in a dependency (bsp, powermeter) belongs to the one EvseManager with an open session.
      const open = options
        .graph()
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

  const client: MqttClient = connect({
    ...mqttEndpoint(options.url),
    clientId: options.clientId,
    clean: false,
    // MQTT 5 like mqtt.ts: the session outlives restarts, and the broker is told the Maximum Packet
    // Size so a far larger message is dropped there instead of taking the receiver's memory.
    protocolVersion: 5,
    properties: {
      sessionExpiryInterval: 0xffff_ffff,
      maximumPacketSize: maxPacketSizeFor(options.maxPayloadBytes),
    },
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    keepalive: 30,
  });
  deferPubacksUntilCommitted(
    client,
    (packet) => handle(packet.topic, packet.payload as Buffer),
    (err, topic) => {
      status.lastError = String(err);
      logger.error('could not store EVerest message; reconnecting so the broker redelivers it', {
        topic,
        error: String(err),
      });
    },
  );
  client.on('connect', (connack) => {
    status.connected = true;
    status.lastError = null;
    logger.info('EVerest MQTT connected', {
      prefix: p,
      apiPrefix: a,
      sessionPresent: connack.sessionPresent,
    });
    client.subscribe(topics, { qos: 1 }, (err, granted) => {
      if (err) {
        status.lastError = String(err);
        logger.error('EVerest MQTT subscribe failed', { error: String(err) });
        return;
      }
      status.subscribed = (granted ?? []).every((g) => g.qos === 1);
    });
  });
  client.on('reconnect', () => {
    client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? 1000) * 2, 30_000);
  });
  client.on('close', () => {
    if (status.connected) logger.warn('EVerest MQTT connection lost; reconnecting');
    status.connected = false;
    status.subscribed = false;
  });
  client.on('error', (err) => {
    status.lastError = err.message;
  });

  async function handle(topic: string, payload: Buffer): Promise<void> {
    const dead = async (reason: string) => {
      await sink.deadLetter({
        receivedAt: Date.now(),
        source: 'everest',
        topic,
        reason,
        // A copy of the prefix only, so a large payload's buffer is not held until the commit.
        payload: new Uint8Array(payload.subarray(0, DEAD_LETTER_PREFIX_BYTES)),
        size: payload.byteLength,
      });
      sink.countRejected('everest', reason.split(':')[0] ?? reason);
    };
    // Before any decoding or parsing: a large payload costs a multiple of its size as objects.
    if (payload.byteLength > options.maxPayloadBytes)
      return dead(
        `too_large: payload of ${payload.byteLength} bytes exceeds the limit of ${options.maxPayloadBytes} bytes (TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES)`,
      );
    const text = decodeUtf8(payload);
    if (text === null) return dead('bad_encoding: payload is not valid UTF-8');
    // An empty payload clears a retained message: nothing to translate.
    if (!text.trim()) return count('empty', 'ignored');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return dead(`bad_json: ${(e as Error).message}`);
    }
    const route = routeTopic(topic, p, a);
    if (!route) return dead('unknown_topic: not an EVerest error, session or API topic');
    let t: Translation;
    switch (route.kind) {
      case 'error': {
        const { msgType, data } = unwrap(json);
        t = translateError(data, {
          topicModule: route.module,
          topicImpl: route.impl,
          cleared: msgType === 'ClearError' ? true : msgType === 'RaiseError' ? false : undefined,
          ctx,
        });
        break;
      }
      case 'var': {
        // {msg_type: Var, data: {data: value}} on .../var/NAME; older frameworks: {name, data} on .../var.
        const { data } = unwrap(json);
        const named = route.name ?? nameOf(data);
        if (named !== 'session_event') return count('var', 'ignored');
        const value =
          data && typeof data === 'object' && 'data' in data ? (data as { data: unknown }).data : data;
        t = translateSessionEvent(value, { module: route.module, ctx });
        break;
      }
      case 'api-session-event':
        t = translateSessionEvent(json, { module: route.module, ctx });
        break;
      case 'api-error':
        t = translateError(apiError(json, route.apiType), {
          topicModule: route.module,
          cleared: route.cleared,
          ctx,
        });
        break;
      case 'active-errors':
        t = translateActiveErrors(json);
        break;
      case 'session-info': {
        const r = translateSessionInfo(json, {
          evse: route.module,
          previous: sessionInfo.get(route.module),
          ctx,
        });
        if (r.ok && r.key) {
          sessionInfo.delete(route.module);
          sessionInfo.set(route.module, r.key);
          if (sessionInfo.size > MAX_SESSIONS) sessionInfo.delete(sessionInfo.keys().next().value as string);
        }
        t = r;
        break;
      }
    }
    if (!t.ok) return dead(t.reason);
    await commit(t, dead);
    count(route.kind, t.items.length ? 'stored' : 'unchanged');
  }

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

  async function commit(t: Translation & { ok: true }, dead: (r: string) => Promise<void>) {
    const c = sink.context('everest');
    const events = [];
    const lines = [];
    const problems: string[] = [];
    for (const item of t.items) {
      if (item.kind === 'event') {
        const r = toDebugEvent(item.input, c);
        if (r.ok) events.push(r.value);
        else problems.push(...r.problems);
      } else {
        const r = toLogLine(item.input, { now: c.now, source: 'everest' });
        if (r.ok) lines.push(r.value);
        else problems.push(...r.problems);
      }
    }
    // All or nothing: a message half stored would hide what was wrong with it.
    if (problems.length) return dead(`invalid_everest: ${problems.join('; ')}`);
    await Promise.all([...events.map((e) => sink.event(e)), lines.length ? sink.logs(lines) : undefined]);
  }

  function count(kind: string, outcome: string) {
    metrics.inc('tracepulse_everest_messages_total', { kind, outcome });
  }

  return {
    state: () => ({ ...status }),
    stop: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}

type Route =
  | { kind: 'error'; module: string; impl: string }
  | { kind: 'var'; module: string; impl: string; name: string | null }
  | { kind: 'api-session-event'; module: string }
  | { kind: 'api-error'; module: string; apiType: string; cleared: boolean }
  | { kind: 'active-errors' }
  | { kind: 'session-info'; module: string };

/** Which EVerest message a topic carries (see the subscriptions above). */
export function routeTopic(topic: string, prefix: string, apiPrefix: string): Route | null {
  if (topic.startsWith(prefix)) {
    const s = topic.slice(prefix.length).split('/');
    // modules/{module_id}/impl/{impl_id}/(error/{type...} | var[/name])
    if (s[0] === 'modules' && s[2] === 'impl' && s.length >= 5) {
      const [, module, , impl, kind, ...rest] = s as [string, string, string, string, string, ...string[]];
      if (kind === 'error' && rest.length) return { kind: 'error', module, impl };
      if (kind === 'var') return { kind: 'var', module, impl, name: rest.length ? rest.join('/') : null };
      return null;
    }
    // Older layout: {module_id}/{impl_id}/(error/{type...} | var)
    if (s.length >= 3 && s[0] !== 'modules') {
      const [module, impl, kind, ...rest] = s as [string, string, string, ...string[]];
      if (kind === 'error' && rest.length) return { kind: 'error', module, impl };
      if (kind === 'var' && !rest.length) return { kind: 'var', module, impl, name: null };
    }
    return null;
  }
  if (topic.startsWith(apiPrefix)) {
    const s = topic.slice(apiPrefix.length).split('/');
    if (s.join('/') === 'errors/var/active_errors') return { kind: 'active-errors' };
    if (s.length === 3 && s[1] === 'var' && s[2] === 'session_info')
      return { kind: 'session-info', module: s[0] as string };
    // 1/{api_type}/{module_id}/{m2e|e2m}/{msg}
    if (s[0] === '1' && s.length === 5) {
      const [, apiType, module, dir, msg] = s as [string, string, string, string, string];
      if (dir === 'e2m' && msg === 'session_event') return { kind: 'api-session-event', module };
      if (dir === 'e2m' && (msg === 'error_raised' || msg === 'error_cleared'))
        return { kind: 'api-error', module, apiType, cleared: msg === 'error_cleared' };
      if (dir === 'm2e' && (msg === 'raise_error' || msg === 'clear_error'))
        return { kind: 'api-error', module, apiType, cleared: msg === 'clear_error' };
    }
  }
  return null;
}

function nameOf(data: unknown): string | null {
  return data && typeof data === 'object' && 'name' in data && typeof data.name === 'string'
    ? data.name
    : null;
}

/**
 * Versioned API errors: error_history_consumer e2m/error_raised carries a full ErrorObject;
 * a driver's m2e/raise_error carries {type, sub_type, message} with the API module as origin and
 * the type named within the API (generic_error_raiser_API.yaml ErrorEnum), so it is qualified.
 */
function apiError(json: unknown, apiType: string): unknown {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  if ('origin' in o) return o;
  const type = typeof o.type === 'string' && !o.type.includes('/') ? `${apiType}/${o.type}` : o.type;
  return { ...o, type };
}
