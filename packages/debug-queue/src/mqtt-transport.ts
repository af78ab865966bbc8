import { errorOf, FatalTransportError, type Outcome, type SendResult, type Transport } from './transport.js';
import type { Item } from './types.js';

/** The part of mqtt.js (v5) this transport uses; keeps mqtt's types out of the published declarations. */
export interface MqttClientLike {
  connected: boolean;
  publish(topic: string, payload: string, options: { qos: 1 }, callback: (error?: Error) => void): unknown;
  on(event: 'connect' | 'close' | 'offline', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'connect', listener: () => void): unknown;
  removeListener(event: 'connect', listener: () => void): unknown;
  end(force: boolean, options: object, callback: () => void): unknown;
}
export interface MqttModuleLike {
  connect(options: Record<string, unknown>): MqttClientLike;
}

export interface MqttTransportOptions {
  /** mqtt://, mqtts://, ws:// or wss:// broker URL; user and password may be in the URL. */
  url: string;
  topicPrefix?: string;
  clientId?: string;
  /** How long to wait for a PUBACK (and for a connection) before calling it a failed attempt. */
  timeoutMs?: number;
  /** Loads mqtt.js; only called on the first send, so HTTP users never load it. */
  loadMqtt?: () => Promise<MqttModuleLike>;
}

/** A topic level must not contain `/`, `+` or `#`; replace them so one service stays one level. */
export function topicSegment(service: string): string {
  return service.replace(/[/+#]/g, '_') || '_';
}

async function importMqtt(): Promise<MqttModuleLike> {
  // A literal specifier so bundlers (bun build --compile) include mqtt when it is installed.
  const mod = (await import('mqtt')) as unknown as Partial<MqttModuleLike> & {
    default?: Partial<MqttModuleLike>;
  };
  const connect = mod.connect ?? mod.default?.connect;
  if (typeof connect !== 'function') throw new Error('the mqtt module has no connect()');
  return { connect };
}

/**
 * Publishes events to PREFIX/events/SERVICE and log lines to PREFIX/logs/SERVICE, QoS 1, one JSON
 * object per message. A publish counts as delivered on PUBACK only. Publishes are made only while
 * connected, so mqtt.js never buffers on its own; the sink's bounded queue is the one buffer.
 */
export function createMqttTransport({
  url,
  topicPrefix = 'tracepulse',
  clientId = `debug-queue-${globalThis.crypto.randomUUID().slice(0, 8)}`,
  timeoutMs = 5000,
  loadMqtt = importMqtt,
}: MqttTransportOptions): Transport {
  const prefix = topicPrefix.replace(/\/+$/, '');
  let client: MqttClientLike | undefined;
  let connecting: Promise<MqttClientLike> | undefined;
  let lastError: Error | undefined;
  let everConnected = false;
  const readyListeners: Array<() => void> = [];

  async function open(): Promise<MqttClientLike> {
    let mqtt: MqttModuleLike;
    try {
      mqtt = await loadMqtt();
    } catch (e) {
      throw new FatalTransportError(
        'MQTT_MISSING',
        `debug-queue: ${url.split(':')[0]}:// needs the "mqtt" package (npm install mqtt): ${errorOf(e).message}`,
        { cause: e },
      );
    }
    const u = new URL(url);
    const protocol = u.protocol.replace(':', '');
    const defaultPort = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 }[protocol] ?? 1883;
    // An options object, not the URL string: mqtt.js would url.parse() it (deprecated, warns).
    const c = mqtt.connect({
      protocol,
      host: u.hostname,
      port: u.port ? Number(u.port) : defaultPort,
      path: protocol.startsWith('ws') ? u.pathname || '/mqtt' : undefined,
      username: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      clientId,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 1000,
      connectTimeout: timeoutMs,
    });
    // Without an 'error' listener EventEmitter throws, which would crash the station service.
    c.on('error', (error) => {
      lastError = error;
    });
    c.on('close', () => {
      lastError ??= new Error(`MQTT connection to ${u.host} closed`);
    });
    c.on('connect', () => {
      lastError = undefined;
      everConnected = true;
      for (const listener of readyListeners) listener();
    });
    return c;
  }

  /** Waits for the first connection; once it was up, a lost connection fails at once (the sink backs off). */
  function waitConnected(c: MqttClientLike, signal: AbortSignal): Promise<boolean> {
    if (c.connected) return Promise.resolve(true);
    if (everConnected || lastError) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        c.removeListener('connect', onConnect);
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onConnect = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(c.connected), Math.min(timeoutMs, 2000));
      c.once('connect', onConnect);
      signal.addEventListener('abort', onAbort);
    });
  }

  function publish(c: MqttClientLike, item: Item, signal: AbortSignal): Promise<Outcome | Error> {
    const kind = item.kind === 'event' ? 'events' : 'logs';
    const topic = `${prefix}/${kind}/${topicSegment(item.body.service)}`;
    let payload: string;
    try {
      payload = JSON.stringify(item.body);
    } catch {
      return Promise.resolve('reject'); // cannot be encoded: retrying would not help
    }
    return new Promise((resolve) => {
      const finish = (result: Outcome | Error) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = () => finish(new Error('closed before PUBACK'));
      const timer = setTimeout(
        () => finish(new Error(`no PUBACK within ${timeoutMs} ms on ${topic}`)),
        timeoutMs,
      );
      signal.addEventListener('abort', onAbort);
      try {
        c.publish(topic, payload, { qos: 1 }, (error) => finish(error ?? 'ok'));
      } catch (e) {
        finish(errorOf(e));
      }
    });
  }

  return {
    kind: 'mqtt',
    async send(items: Item[], signal: AbortSignal): Promise<SendResult> {
      if (!client) {
        connecting ??= open();
        try {
          client = await connecting;
        } finally {
          connecting = undefined;
        }
      }
      const c = client;
      if (!(await waitConnected(c, signal))) {
        return {
          outcomes: items.map(() => 'retry'),
          error: lastError ?? new Error(`MQTT broker ${new URL(url).host} not connected`),
        };
      }
      const results = await Promise.all(items.map((item) => publish(c, item, signal)));
      const error = results.find((r): r is Error => r instanceof Error);
      return { outcomes: results.map((r) => (r instanceof Error ? 'retry' : r)), error };
    },
    onReady(listener: () => void) {
      readyListeners.push(listener);
    },
    async close() {
      const c = client;
      client = undefined;
      if (!c) return;
      await new Promise<void>((resolve) => {
        // A clean DISCONNECT first; force after a second so a dead broker cannot hold up shutdown.
        const timer = setTimeout(() => c.end(true, {}, resolve), 1000);
        c.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
