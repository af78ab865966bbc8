import { DebugQueueError, type DropInfo } from './types.js';

/** Options of `createDebugQueue()`; every field has a default except the destination. */
export interface DebugQueueConfig {
  /** TracePulse (`http://`, `https://`) or an MQTT broker (`mqtt://`, `mqtts://`, `ws://`, `wss://`). Unset: no-op. */
  url?: string;
  /** Sent to TracePulse as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** MQTT topic prefix: events go to PREFIX/events/SERVICE, log lines to PREFIX/logs/SERVICE. */
  topicPrefix?: string;
  /** Grafana Loki base URL: log lines are also pushed there. */
  lokiUrl?: string;
  /** Static Loki labels, e.g. `{ station: 'EV-Station-01' }`. */
  lokiLabels?: Record<string, string>;
  /** X-Scope-OrgID for multi-tenant Loki. */
  lokiTenant?: string;
  /** Elasticsearch or OpenSearch base URL: log lines are also written there with the _bulk API. */
  elasticsearchUrl?: string;
  /** Index or data stream for those lines; default `logs-debugqueue-default`. */
  elasticsearchIndex?: string;
  /** Elasticsearch API key (the base64 "encoded" value). */
  elasticsearchApiKey?: string;
  /** Items held per destination (queued plus in flight); past it low priority is dropped first. */
  maxQueue?: number;
  /** Items per delivery attempt. */
  batchSize?: number;
  /** Concurrent POST /webhook/event requests. */
  concurrency?: number;
  /** Per request (HTTP) or per PUBACK (MQTT). */
  timeoutMs?: number;
  /** First retry delay; doubles per failed attempt up to `retryMaxMs`, with jitter. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Journal file for undelivered items, so they survive a restart. Loki gets `<spoolFile>.loki`. */
  spoolFile?: string;
  /** Longest time an undelivered item stays only in memory. */
  spoolIntervalMs?: number;
  /** fdatasync each spool write (power-loss safe, more flash wear). */
  spoolFsync?: boolean;
  mqttClientId?: string;
  /** Called for each dropped item (queue full). Keep it cheap: it runs inside log(). */
  onDrop?: (info: DropInfo) => void;
  /** Called when a destination goes away, refuses an item, or the spool fails; once per outage. */
  onError?: (error: DebugQueueError) => void;
  /** Do not write the one-line notices (no destination, mqtt missing) to stderr. */
  silent?: boolean;
  /** Injected fetch (tests, proxies). */
  fetch?: typeof fetch;
}

export const defaults = {
  topicPrefix: 'tracepulse',
  maxQueue: 10_000,
  batchSize: 100,
  concurrency: 8,
  timeoutMs: 5000,
  retryInitialMs: 500,
  retryMaxMs: 30_000,
  spoolIntervalMs: 100,
} as const;

const primaryProtocols = ['http:', 'https:', 'mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** Reads DEBUG_QUEUE_* variables; unset or empty ones are left out. */
export function configFromEnv(env: Record<string, string | undefined> = process.env): DebugQueueConfig {
  const get = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const config: DebugQueueConfig = {
    url: get('DEBUG_QUEUE_URL'),
    apiKey: get('DEBUG_QUEUE_API_KEY'),
    topicPrefix: get('DEBUG_QUEUE_TOPIC_PREFIX'),
    lokiUrl: get('DEBUG_QUEUE_LOKI_URL'),
    lokiTenant: get('DEBUG_QUEUE_LOKI_TENANT'),
    elasticsearchUrl: get('DEBUG_QUEUE_ELASTICSEARCH_URL'),
    elasticsearchIndex: get('DEBUG_QUEUE_ELASTICSEARCH_INDEX'),
    elasticsearchApiKey: get('DEBUG_QUEUE_ELASTICSEARCH_API_KEY'),
    spoolFile: get('DEBUG_QUEUE_SPOOL_FILE'),
  };
  const maxQueue = get('DEBUG_QUEUE_MAX_QUEUE');
  if (maxQueue !== undefined) config.maxQueue = Number(maxQueue);
  const labels = get('DEBUG_QUEUE_LOKI_LABELS');
  if (labels) {
    config.lokiLabels = Object.fromEntries(
      labels
        .split(',')
        .map((pair) => pair.split('=').map((s) => s.trim()))
        .filter((kv): kv is [string, string] => kv.length === 2 && !!kv[0] && !!kv[1]),
    );
  }
  return config;
}

/** Checks a config at creation time and lists every problem at once. */
export function validateConfig(config: DebugQueueConfig): void {
  const problems: string[] = [];
  const checkUrl = (field: string, value: string | undefined, protocols: string[]) => {
    if (value === undefined) return;
    let protocol = '';
    try {
      protocol = new URL(value).protocol;
    } catch {
      problems.push(`${field}: not a URL: ${JSON.stringify(value)}`);
      return;
    }
    if (!protocols.includes(protocol))
      problems.push(`${field}: expected one of ${protocols.join(' ')}, got ${protocol}`);
  };
  checkUrl('url (DEBUG_QUEUE_URL)', config.url, primaryProtocols);
  checkUrl('lokiUrl (DEBUG_QUEUE_LOKI_URL)', config.lokiUrl, ['http:', 'https:']);
  checkUrl('elasticsearchUrl (DEBUG_QUEUE_ELASTICSEARCH_URL)', config.elasticsearchUrl, ['http:', 'https:']);
  const positive = [
    'maxQueue',
    'batchSize',
    'concurrency',
    'timeoutMs',
    'retryInitialMs',
    'retryMaxMs',
  ] as const;
  for (const key of positive) {
    const v = config[key];
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      problems.push(`${key}: expected a positive integer, got ${v}`);
  }
  if (config.topicPrefix !== undefined && /[#+]/.test(config.topicPrefix)) {
    problems.push('topicPrefix: must not contain MQTT wildcards + or #');
  }
  if (problems.length > 0) {
    throw new DebugQueueError('CONFIG', `debug-queue: invalid configuration: ${problems.join('; ')}`);
  }
}
