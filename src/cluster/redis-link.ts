import type { RedisClient } from 'bun';
import type { Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

/** The one connection to Redis every cluster part shares. Commands fail fast while Redis is away. */
export interface RedisLink {
  readonly prefix: string;
  connected(): boolean;
  /** One command; rejects at once (never queues) while disconnected. */
  send(cmd: string, args: string[]): Promise<unknown>;
  /** Subscribes on a second connection; `onMessage` runs per message (re-subscribed after a reconnect). */
  subscribe(channel: string, onMessage: (message: string) => void): void;
  /** Runs after every (re)connection, e.g. to resync what changed meanwhile. */
  onConnect(listener: () => void): void;
  state(): { connected: boolean; lastError: string | null; reconnects: number };
  close(): void;
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/**
 * Bun's built-in RedisClient (no dependency; it works from the compiled executable), with the
 * offline queue off so a Redis that is down costs a rejected promise, never a wait: ingest and the
 * local report never block on it. Bun reconnects by itself; a watchdog also retries every second
 * in case it gave up.
 */
export async function createRedisLink(options: {
  url: string;
  prefix: string;
  logger: Logger;
  /** The reconnect watchdog's period (tests advance a manual clock). */
  scheduler: Scheduler;
}): Promise<RedisLink> {
  const { RedisClient } = await import('bun');
  const { logger } = options;
  const make = () =>
    new RedisClient(options.url, {
      enableOfflineQueue: false,
      autoReconnect: true,
      maxRetries: 1_000_000,
      connectionTimeout: 2000,
    });
  const status = { connected: false, lastError: null as string | null, reconnects: 0 };
  const connectListeners: Array<() => void> = [];
  const subscriptions = new Map<string, (m: string) => void>();
  let closed = false;
  let everConnected = false;

  const main: RedisClient = make();
  let sub: RedisClient | null = null;

  const resubscribe = async () => {
    if (!subscriptions.size || closed) return;
    try {
      sub?.close();
    } catch {}
    sub = make();
    try {
      await sub.connect();
      for (const [channel, fn] of subscriptions) await sub.subscribe(channel, (m) => fn(String(m)));
    } catch (err) {
      status.lastError = String(err);
    }
  };

  main.onconnect = () => {
    status.connected = true;
    status.lastError = null;
    if (everConnected) status.reconnects++;
    logger.info(everConnected ? 'Redis connection back' : 'Redis connected', { url: redact(options.url) });
    everConnected = true;
    // Listeners run once the subscriptions are back: a resync that reads state after subscribing
    // cannot miss a change published in between.
    void resubscribe().then(() => {
      for (const l of connectListeners) {
        try {
          l();
        } catch (err) {
          logger.error('Redis connect listener failed', { error: String(err) });
        }
      }
    });
  };
  main.onclose = (err) => {
    if (status.connected && !closed)
      logger.warn('Redis connection lost; working locally', { error: String(err) });
    status.connected = false;
    status.lastError = String(err);
  };

  let connecting = false;
  const tryConnect = () => {
    if (connecting || closed || status.connected) return;
    connecting = true;
    main
      .connect()
      .catch((err) => {
        status.lastError = String(err);
      })
      .finally(() => {
        connecting = false;
      });
  };
  tryConnect();
  const watchdog = options.scheduler.every(1000, tryConnect);

  return {
    prefix: options.prefix,
    connected: () => status.connected && main.connected,
    send: (cmd, args) => main.send(cmd, args),
    subscribe(channel, onMessage) {
      subscriptions.set(channel, onMessage);
      if (status.connected) void resubscribe();
    },
    onConnect: (l) => {
      connectListeners.push(l);
    },
    state: () => ({ ...status, connected: status.connected && main.connected }),
    close() {
      closed = true;
      watchdog.cancel();
      try {
        sub?.close();
      } catch {}
      try {
        main.close();
      } catch {}
    },
  };
}
