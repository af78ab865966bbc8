import type { MqttClient } from 'mqtt';
import type { Logger } from '../core/logger.ts';
import type { LogLevel } from '../core/log-line.ts';
import { DEAD_LETTER_PREFIX_BYTES } from '../store/ingest-writer.ts';
import type { IngestIntake } from './intake.ts';
import { decodeUtf8, toDebugEvent, toLogLine } from './normalize.ts';
import { mqttEndpoint } from '../core/mqtt-url.ts';

export interface MqttReceiverOptions {
  url: string;
  prefix: string;
  clientId: string;
  intake: IngestIntake;
  logger: Logger;
  /** OCPP-J frames on PREFIX/ocpp/<chargePointId> (ocpp.ts); the topic is not subscribed without it. */
  ocpp?: (chargePointId: string, topic: string, payload: Uint8Array) => Promise<void>;
  /** Largest payload taken (TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES); larger ones are dead-lettered unparsed. */
  maxPayloadBytes: number;
  /**
   * Cluster mode: subscribe as `$share/<group>/...` (MQTT 5 shared subscriptions, §4.8.2) so the
   * broker hands each message to one member of the group instead of to every instance.
   */
  shareGroup?: string;
}

/** MQTT's largest packet (Remaining Length of 268,435,455 bytes plus the fixed header). */
const MQTT_MAX_PACKET = 268_435_460;

/**
 * The Maximum Packet Size told to the broker (MQTT 5, §3.1.2.11.4): payloads somewhat over the
 * limit still arrive and are dead-lettered with their size, so the sender can be found; far larger
 * packets the broker does not send at all (Mosquitto drops them and logs it), so one bad message
 * can never take the receiver's memory.
 */
export const maxPacketSizeFor = (maxPayloadBytes: number): number =>
  Math.min(MQTT_MAX_PACKET, Math.max(maxPayloadBytes * 16, maxPayloadBytes + 1024 * 1024));

export interface MqttReceiver {
  state(): { connected: boolean; subscribed: boolean; lastError: string | null };
  stop(): Promise<void>;
}

/**
 * Receives DebugQueue events on PREFIX/events/# and log lines on PREFIX/logs/<SERVICE> (QoS 1).
 * PUBACK is sent only after the message is committed: mqtt.js sends it when handleMessage's
 * callback runs. A persistent session with a stable client id means the broker keeps QoS 1
 * messages for us while we are away.
 */
export async function startMqttReceiver(options: MqttReceiverOptions): Promise<MqttReceiver> {
  const { connect } = await import('mqtt');
  const { intake, prefix, logger } = options;
  const status = { connected: false, subscribed: false, lastError: null as string | null };
  const eventsTopic = `${prefix}/events/#`;
  const logsTopic = `${prefix}/logs/#`;
  const own = options.ocpp ? [eventsTopic, logsTopic, `${prefix}/ocpp/+`] : [eventsTopic, logsTopic];
  // Messages carry their original topic name on a shared subscription, so handle() is unchanged.
  const topics = options.shareGroup ? own.map((t) => `$share/${options.shareGroup}/${t}`) : own;

  const client: MqttClient = connect({
    ...mqttEndpoint(options.url),
    clientId: options.clientId,
    clean: false,
    protocolVersion: 5,
    properties: {
      // MQTT 5 ends a session at disconnect unless told otherwise; ours must outlive restarts.
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
      logger.error('could not store MQTT message; reconnecting so the broker redelivers it', {
        topic,
        error: String(err),
      });
    },
  );

  client.on('connect', (connack) => {
    status.connected = true;
    status.lastError = null;
    client.options.reconnectPeriod = 1000;
    logger.info('MQTT connected', { url: redact(options.url), sessionPresent: connack.sessionPresent });
    client.subscribe(topics, { qos: 1 }, (err, granted) => {
      if (err) {
        status.lastError = String(err);
        logger.error('MQTT subscribe failed', { error: String(err) });
        return;
      }
      status.subscribed = (granted ?? []).every((g) => g.qos === 1);
      if (!status.subscribed)
        logger.warn('MQTT broker did not grant QoS 1', { granted: JSON.stringify(granted) });
    });
  });
  // mqtt.js retries at a fixed period; stretch it (1 s doubling to 30 s) so a long outage isn't a reconnect storm.
  client.on('reconnect', () => {
    client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? 1000) * 2, 30_000);
  });
  let stopping = false;
  client.on('close', () => {
    if (status.connected && !stopping) logger.warn('MQTT connection lost; reconnecting');
    status.connected = false;
    status.subscribed = false;
  });
  client.on('error', (err) => {
    status.lastError = err.message;
    logger.warn('MQTT error', { error: err.message });
  });

  async function handle(topic: string, payload: Buffer): Promise<void> {
    const rest = topic.startsWith(`${prefix}/`) ? topic.slice(prefix.length + 1) : '';
    const [kind, ...tail] = rest.split('/');
    const dead = (reason: string) =>
      intake
        .deadLetter({
          receivedAt: Date.now(),
          source: 'mqtt',
          topic,
          reason,
          // A copy of the prefix only, so a large payload's buffer is not held until the commit.
          payload: new Uint8Array(payload.subarray(0, DEAD_LETTER_PREFIX_BYTES)),
          size: payload.byteLength,
        })
        .then(() => {
          intake.countRejected('mqtt', reason.split(':')[0] ?? reason);
        });
    // Before any decoding or parsing: a large payload costs a multiple of its size as objects.
    if (payload.byteLength > options.maxPayloadBytes)
      return dead(
        `too_large: payload of ${payload.byteLength} bytes exceeds the limit of ${options.maxPayloadBytes} bytes (TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES)`,
      );
    if (kind === 'ocpp' && tail.length === 1 && options.ocpp)
      return options.ocpp(tail[0] as string, topic, new Uint8Array(payload));
    const text = decodeUtf8(payload);
    if (text === null) return dead('bad_encoding: payload is not valid UTF-8');
    const ctx = intake.context('mqtt');

    if (kind === 'events' && tail.length) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return dead(`bad_json: ${(e as Error).message}`);
      }
      const r = toDebugEvent(json, ctx);
      if (!r.ok) return dead(`invalid_event: ${r.problems.join('; ')}`);
      await intake.event(r.value);
      return;
    }
    if (kind === 'logs' && tail.length) {
      const service = tail[tail.length - 1]!;
      const items = logItems(text);
      if (typeof items === 'string') return dead(items);
      const lines = [];
      const problems: string[] = [];
      for (const item of items) {
        const r = toLogLine(item, { now: ctx.now, source: 'mqtt', fallbackService: service });
        if (r.ok) lines.push(r.value);
        else problems.push(...r.problems);
      }
      if (lines.length) await intake.logs(lines);
      if (problems.length) return dead(`invalid_log: ${problems.join('; ')}`);
      return;
    }
    return dead(
      'unknown_topic: expected PREFIX/events/<name>, PREFIX/logs/<SERVICE> or PREFIX/ocpp/<chargePointId>',
    );
  }

  return {
    state: () => ({ ...status }),
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        // Not forced: in-flight handleMessage callbacks finish and send their PUBACKs first.
        client.end(false, {}, () => resolve());
      }),
  };
}

type SendPacket = (
  packet: { cmd: string; messageId?: number },
  cb?: (err?: Error) => void,
  ...rest: unknown[]
) => void;

/**
 * mqtt.js handles one PUBLISH at a time and sends its PUBACK when handleMessage calls back, so
 * acknowledging after commit would cost one SQLite transaction per message. Instead, handleMessage
 * starts the write and calls back at once, and the PUBACK itself is held until that write commits.
 * Writes queued together share a group commit; PUBACKs still leave in arrival order (MQTT 3.1.1
 * §4.6) because commits resolve in order. A failed write sends no PUBACK and drops the connection,
 * so the broker redelivers from the persistent session.
 * Relies on mqtt.js's internal _sendPacket (pinned by package-lock; covered by the tests).
 */
export function deferPubacksUntilCommitted(
  client: MqttClient,
  store: (packet: { topic: string; payload: Buffer | string }) => Promise<void>,
  onFailure: (err: unknown, topic: string) => void,
) {
  const internal = client as unknown as { _sendPacket: SendPacket };
  const send = internal._sendPacket.bind(client);
  const committing = new Map<number, { done: Promise<void>; topic: string }>();
  internal._sendPacket = (packet, cb, ...rest) => {
    const waiting =
      packet.cmd === 'puback' && packet.messageId !== undefined
        ? committing.get(packet.messageId)
        : undefined;
    if (!waiting || packet.messageId === undefined) return send(packet, cb, ...rest);
    committing.delete(packet.messageId);
    cb?.();
    waiting.done.then(
      () => send(packet),
      (err) => {
        onFailure(err, waiting.topic);
        client.stream?.destroy();
      },
    );
  };
  client.handleMessage = (packet, done) => {
    const p = store(packet as { topic: string; payload: Buffer });
    if (packet.qos === 1 && packet.messageId !== undefined) {
      p.catch(() => {}); // handled when the PUBACK is due
      committing.set(packet.messageId, { done: p, topic: packet.topic });
      done();
    } else
      p.then(
        () => done(),
        (err) => {
          onFailure(err, packet.topic);
          done();
        },
      );
  };
}

const levelTag = /^\s*[[<]?(debug|info|warn|warning|error|err|fatal|crit|critical)[\]>]?[:\s]\s*/i;
const levelAlias: Record<string, LogLevel> = {
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
};

function plainLine(line: string): { level: LogLevel; message: string } {
  const m = levelTag.exec(line);
  if (!m) return { level: 'info', message: line };
  return { level: levelAlias[m[1]!.toLowerCase()] ?? 'info', message: line.slice(m[0].length) };
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/** A log topic's payload as log items (JSON, one or an array, or plain text lines); a string is why it is a dead letter. */
function logItems(text: string): unknown[] | string {
  const trimmed = text.trim();
  if (!trimmed) return 'invalid_log: empty payload';
  let items: unknown[];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const json = JSON.parse(trimmed);
      items = Array.isArray(json) ? json : [json];
    } catch (e) {
      return `bad_json: ${(e as Error).message}`;
    }
  } else {
    // Plain text: service from the topic, time from arrival, level from a leading tag when present.
    items = trimmed
      .split('\n')
      .filter((l) => l.trim())
      .map((line) => plainLine(line));
  }
  return items.length ? items : 'invalid_log: no log lines';
}
