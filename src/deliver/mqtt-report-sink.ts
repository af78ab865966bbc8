import type { MqttClient } from 'mqtt';
import type { Logger } from '../core/logger.ts';
import { DeliveryError, permanent, type Sink, transient } from './sink.ts';
import { mqttEndpoint } from '../core/mqtt-url.ts';

export interface MqttReportSinkOptions {
  url: string;
  /** Topic prefix without a trailing slash. */
  prefix: string;
  stationId: string;
  clientId: string;
  timeoutMs: number;
  logger: Logger;
}

/** MQTT 5 PUBACK reason codes a retry can get past (quota, server busy); others are permanent. */
const transientReasons = new Set([0x97, 0x89, 0x80]);

/**
 * Forwards every report (new, refined, incident update) as JSON, QoS 1, retain false, to
 * PREFIX/reports/<station>. The local broker's bridge carries it on to the fleet. QoS 1 is
 * at-least-once: a retry after a lost PUBACK can publish twice, so each message carries its
 * outbox key (user property `idempotency-key`, and report id + revision in the body) for
 * consumers to drop repeats.
 */
export async function createMqttReportSink(o: MqttReportSinkOptions): Promise<Sink> {
  const { connect } = await import('mqtt');
  const topic = `${o.prefix}/reports/${o.stationId}`;
  const log = o.logger;
  let lastError: string | null = null;
  // A clean session of our own: the outbox, not the broker session, keeps what is not yet sent.
  const client: MqttClient = connect({
    ...mqttEndpoint(o.url),
    clientId: o.clientId,
    clean: true,
    protocolVersion: 5,
    reconnectPeriod: 2000,
    connectTimeout: Math.min(o.timeoutMs, 30_000),
    keepalive: 30,
    // Publishing while offline fails at once instead of queueing in memory: the outbox is the queue.
    queueQoSZero: false,
  });
  client.on('error', (err) => {
    if (lastError !== err.message) log.debug('MQTT report client error', { error: err.message });
    lastError = err.message;
  });

  return {
    channel: 'mqtt',
    timeoutMs: o.timeoutMs,
    accepts: () => true,
    send(message) {
      if (!client.connected)
        return Promise.reject(
          new DeliveryError('unreachable', `MQTT broker not connected${lastError ? ` (${lastError})` : ''}`),
        );
      const body = JSON.stringify(message.payload.report);
      return new Promise((resolve, reject) => {
        client.publish(
          topic,
          body,
          {
            qos: 1,
            retain: false,
            properties: {
              contentType: 'application/json',
              userProperties: {
                'idempotency-key': message.key,
                kind: message.kind,
                ...(message.payload.incident
                  ? {
                      'incident-id': message.payload.incident.id,
                      'incident-count': String(message.payload.incident.count),
                    }
                  : {}),
              },
            },
          },
          (err, packet) => {
            if (!err) {
              resolve({ topic, bytes: body.length });
              return;
            }
            const reason = (err as { code?: number }).code;
            if (typeof reason === 'number' && reason >= 0x80)
              reject(
                transientReasons.has(reason)
                  ? transient(`PUBACK reason 0x${reason.toString(16)}`, { cause: err })
                  : permanent(`PUBACK reason 0x${reason.toString(16)}`, err),
              );
            else
              reject(
                new DeliveryError('unreachable', 'MQTT publish not acknowledged', {
                  cause: err,
                  maybeSent: packet !== undefined,
                }),
              );
          },
        );
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        client.end(true, {}, () => resolve());
      }),
  };
}
