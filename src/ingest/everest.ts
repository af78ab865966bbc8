import type { MqttClient } from 'mqtt';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { mqttEndpoint } from '../core/mqtt-url.ts';
import type { SystemGraph } from '../map/graph.ts';
import { createEverestMessages } from './everest-messages.ts';
import { everestTopics, routeTopic } from './everest-topics.ts';
import type { Translation } from './everest-translate.ts';
import { DEAD_LETTER_PREFIX_BYTES } from '../store/ingest-writer.ts';
import { deferPubacksUntilCommitted, maxPacketSizeFor } from './mqtt.ts';
import { decodeUtf8, toDebugEvent, toLogLine } from './normalize.ts';
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
  const topics = everestTopics(p, a);
  const messages = createEverestMessages(options.graph);

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
    const t = messages.translate(route, json);
    if (t === null) return count(route.kind, 'ignored');
    if (!t.ok) return dead(t.reason);
    await commit(t, dead);
    count(route.kind, t.items.length ? 'stored' : 'unchanged');
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
