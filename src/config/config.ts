import { z } from 'zod';

export const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
export const url = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    `expected a URL with one of: ${protocols.join(' ')}`,
  );

/**
 * Every setting, by its environment variable name. This is the one place config is defined;
 * the README's settings table mirrors it.
 */
export const configSchema = z
  .object({
    TRACEPULSE_PORT: int(0, 65535).default(3000),
    /** Default: 127.0.0.1 while no API keys are set (nothing on the LAN can write), else 0.0.0.0. */
    TRACEPULSE_HOST: z.string().min(1).optional(),
    TRACEPULSE_DATA_DIR: z.string().min(1).default('./data'),
    TRACEPULSE_SYSTEM_MAP: z.string().min(1).default('./system-map.yaml'),
    TRACEPULSE_MQTT_URL: url(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']).optional(),
    TRACEPULSE_MQTT_TOPIC_PREFIX: z
      .string()
      .regex(/^[^#+]+$/, 'must not contain MQTT wildcards')
      .transform((s) => s.replace(/\/+$/, ''))
      .default('tracepulse'),
    TRACEPULSE_MQTT_CLIENT_ID: z.string().min(1).max(128).optional(),
    /** Largest MQTT payload taken; larger ones are dead-lettered (size and a prefix), unparsed. */
    TRACEPULSE_MQTT_MAX_PAYLOAD_BYTES: int(1024, 64 * 1024 * 1024).default(64 * 1024),
    TRACEPULSE_API_KEYS: list.default([]),
    TRACEPULSE_STATION_ID: z.string().min(1).max(200).optional(),
    TRACEPULSE_PUBLIC_URL: url(['http:', 'https:']).optional(),
    /** Largest accepted HTTP body; larger ones get 413. */
    TRACEPULSE_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(64 * 1024),
    /** Events, logs and reports older than this are deleted. */
    TRACEPULSE_RETENTION_DAYS: int(1, 3650).default(14),
    /** Past this database size the oldest logs, then events, are deleted. */
    TRACEPULSE_MAX_DB_MB: int(16, 1024 * 1024).default(512),
    /** Disk space kept free on the data directory's file system: below it the oldest data goes first. */
    TRACEPULSE_DISK_RESERVE_MB: int(0, 1024 * 1024).default(64),
    /** normal: durable across process crashes (kill -9); full: also across power loss, slower. */
    TRACEPULSE_SQLITE_SYNC: z.enum(['normal', 'full']).default('normal'),
    TRACEPULSE_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** Optional user rule file (YAML), hot-reloaded. */
    TRACEPULSE_RULES_FILE: z.string().min(1).optional(),
    /** Look-back for code changes as evidence. */
    TRACEPULSE_CHANGE_LOOKBACK_DAYS: int(1, 365).default(7),
    // --- EVerest and OCPP (issue 14): the station's own topics and frames, docs/everest.md and docs/ocpp.md.
    /** Listen to EVerest's own MQTT topics (errors, session events, everest_api). */
    TRACEPULSE_EVEREST: bool.default(false),
    /** Broker of the EVerest bus; default TRACEPULSE_MQTT_URL. */
    TRACEPULSE_EVEREST_MQTT_URL: url(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']).optional(),
    /** EVerest's topic prefix (its mqtt_everest_prefix), with the trailing slash. */
    TRACEPULSE_EVEREST_PREFIX: z
      .string()
      .regex(/^[^#+]+\/$/, "must end with '/' and contain no MQTT wildcards")
      .default('everest/'),
    /** Prefix of the API modules' topics (legacy everest_api/... and versioned everest_api/1/...). */
    TRACEPULSE_EVEREST_API_PREFIX: z
      .string()
      .regex(/^[^#+]+\/$/, "must end with '/' and contain no MQTT wildcards")
      .default('everest_api/'),
    /** A CALL without its CALLRESULT/CALLERROR after this long is a missing response (warn line on ocpp). */
    TRACEPULSE_OCPP_RESPONSE_TIMEOUT_S: int(1, 3600).default(30),
    /** GitHub token (read-only: contents + metadata). GitHub is used when this or GITHUB_API_URL is set. */
    GITHUB_TOKEN: z.string().trim().min(1).optional(),
    /** GitHub REST base URL (Enterprise: https://HOST/api/v3); default https://api.github.com. */
    GITHUB_API_URL: url(['http:', 'https:']).optional(),
    /** How often the mapped services' commits are refreshed in the background; 0 = only on triggers. */
    TRACEPULSE_GITHUB_REFRESH_MINUTES: int(0, 1440).default(10),
    /** Branch, tag or sha whose history is read; default: each repository's default branch. */
    TRACEPULSE_GITHUB_REF: z.string().trim().min(1).max(250).optional(),
    /** Triggers with the same top hypothesis within this window form one incident. */
    TRACEPULSE_STORM_WINDOW_S: int(0, 86400).default(600),
    /** Signs UI sessions (JWT); when unset a random one is generated once into the data dir (0600). */
    TRACEPULSE_JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
    /** Lifetime of a UI login session. */
    TRACEPULSE_SESSION_HOURS: int(1, 24 * 90).default(12),
    /** Login attempts allowed per client address and user name per minute; more get 429. */
    TRACEPULSE_LOGIN_ATTEMPTS_PER_MIN: int(1, 1000).default(5),
    /** How long a chat answer may wait for the LLM before the local answer is given. */
    TRACEPULSE_ANSWER_TIMEOUT_MS: int(200, 120_000).default(8000),
    /** Learn ranking adjustments from feedback (each one judged on the station's labelled reports first). */
    TRACEPULSE_LEARN: bool.default(true),
    // --- Connected mode (issue 4): everything that leaves the device goes through the outbox.
    /** Slack bot token (xoxb-…); Slack delivery is on when set. */
    SLACK_BOT_TOKEN: z.string().trim().min(1).optional(),
    /** Slack Web API base URL; must end with '/'. */
    SLACK_API_URL: url(['http:', 'https:'])
      .refine((s) => s.endsWith('/'), "must end with '/'")
      .default('https://slack.com/api/'),
    /** Channel for reports whose services name none in the map (`channel:`). */
    SLACK_CHANNEL: z.string().trim().min(1).default('#debug'),
    /** smtp:// or smtps:// URL of the mail relay (user:password@ if needed); email is on when set. */
    SMTP_URL: url(['smtp:', 'smtps:']).optional(),
    /** Comma-separated recipients of report emails (required with SMTP_URL). */
    TRACEPULSE_EMAIL_TO: list.pipe(z.array(z.email())).default([]),
    /** Sender address of report emails. */
    TRACEPULSE_EMAIL_FROM: z.string().trim().min(3).default('TracePulse <tracepulse@localhost>'),
    /** OpenAI-compatible API key; local servers (Ollama, llama.cpp, vLLM) need none. */
    OPENAI_API_KEY: z.string().trim().min(1).optional(),
    /** OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 for Ollama; LLM refinement is on when this or the key is set. */
    OPENAI_BASE_URL: url(['http:', 'https:']).optional(),
    TRACEPULSE_LLM_MODEL: z.string().trim().min(1).default('gpt-4o-mini'),
    /** How JSON answers are asked for: auto (json_schema for models known to support it, else JSON mode), json_schema, json_object. */
    TRACEPULSE_LLM_STRUCTURED_OUTPUTS: z.enum(['auto', 'json_schema', 'json_object']).default('auto'),
    /** Confirmed or corrected reports of this station shown to the LLM as examples (few-shot); 0 = none. */
    TRACEPULSE_LLM_EXAMPLES: int(0, 10).default(3),
    /** Longest wait for one LLM answer. */
    TRACEPULSE_LLM_TIMEOUT_MS: int(1000, 600_000).default(60_000),
    /** LLM requests per hour (0 = no limit); past it refinements wait, they are not dropped. */
    TRACEPULSE_LLM_HOURLY_BUDGET: int(0, 1_000_000).default(20),
    /** LLM tokens per hour (0 = no limit), as reported by the server. */
    TRACEPULSE_LLM_HOURLY_TOKENS: int(0, 1_000_000_000).default(0),
    /** Prompt size budget in tokens (~ characters / 4). */
    TRACEPULSE_LLM_PROMPT_TOKENS: int(256, 200_000).default(3000),
    /** Detail fields redacted (also where their values appear in evidence text) before anything leaves the device. */
    TRACEPULSE_REDACT_FIELDS: list.default([
      'userId',
      'idTag',
      'cardId',
      'card_id',
      'vin',
      'VIN',
      'emaid',
      'contractId',
    ]),
    /** Tries answered with a transient error after which an outbox message is dead (no-answer tries do not count). */
    TRACEPULSE_OUTBOX_MAX_ATTEMPTS: int(1, 1000).default(8),
    /** First retry delay of an outbox channel; doubles per failure, with jitter. */
    TRACEPULSE_OUTBOX_BACKOFF_MS: int(10, 3_600_000).default(1000),
    /** Ceiling of the retry delay (also the longest a restored uplink waits to be noticed). */
    TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: int(10, 86_400_000).default(60_000),
    /** Time-out of one Slack, email or MQTT send. */
    TRACEPULSE_OUTBOX_TIMEOUT_MS: int(100, 600_000).default(15_000),
    /** Undelivered messages kept per channel; past it new ones are dropped and counted. */
    TRACEPULSE_OUTBOX_MAX_PENDING: int(10, 10_000_000).default(10_000),
    // --- Log sources (issue 12): logs read where they already live, at trigger time (docs/log-sources.md).
    /** Loki base URL (http://loki:3100; user:password@ for Basic auth); Loki is read at trigger time when set. */
    TRACEPULSE_LOKI_URL: url(['http:', 'https:']).optional(),
    /** Sent as X-Scope-OrgID (multi-tenant Loki, Grafana Cloud). */
    TRACEPULSE_LOKI_TENANT: z.string().trim().min(1).max(200).optional(),
    /** Bearer token for Loki (a gateway in front of it). */
    TRACEPULSE_LOKI_TOKEN: z.string().trim().min(1).optional(),
    /** LogQL stream selector of this station's logs; default {station="<station id>"}. */
    TRACEPULSE_LOKI_SELECTOR: z
      .string()
      .trim()
      .regex(/^\{.*\}$/, 'must be a LogQL stream selector such as {station="EV-Station-01"}')
      .optional(),
    /** Label naming a stream's service; default: the first of service_name, service, app, job. */
    TRACEPULSE_LOKI_SERVICE_LABEL: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Loki label name')
      .optional(),
    /** Also follow the selector live (/loki/api/v1/tail) and store its lines like pushed ones. */
    TRACEPULSE_LOKI_FOLLOW: bool.default(false),
    /** Elasticsearch or OpenSearch base URL (user:password@ for Basic auth); read at trigger time when set. */
    TRACEPULSE_ELASTICSEARCH_URL: url(['http:', 'https:']).optional(),
    /** Also poll the index for new documents (from the stored checkpoint on) and store them. */
    TRACEPULSE_ELASTICSEARCH_FOLLOW: bool.default(false),
    /** How often follow mode polls. */
    TRACEPULSE_ELASTICSEARCH_FOLLOW_INTERVAL_MS: int(100, 3_600_000).default(2000),
    TRACEPULSE_ELASTICSEARCH_INDEX: z.string().trim().min(1).max(500).default('logs-*'),
    /** Elasticsearch API key (the base64 "encoded" value), sent as Authorization: ApiKey. */
    TRACEPULSE_ELASTICSEARCH_API_KEY: z.string().trim().min(1).optional(),
    /** Field names (ECS by default); the correlation field is a comma list, any of which may match. */
    TRACEPULSE_ELASTICSEARCH_TIMESTAMP_FIELD: z.string().trim().min(1).default('@timestamp'),
    TRACEPULSE_ELASTICSEARCH_SERVICE_FIELD: z.string().trim().min(1).default('service.name'),
    TRACEPULSE_ELASTICSEARCH_LEVEL_FIELD: z.string().trim().min(1).default('log.level'),
    TRACEPULSE_ELASTICSEARCH_MESSAGE_FIELD: z.string().trim().min(1).default('message'),
    /**
     * Follow mode's tiebreaker: a field with one unique, sortable value per document (a keyword
     * such as event.id). Set: search_after on (timestamp, tiebreaker). Unset: the timestamp alone,
     * the documents at the checkpoint's millisecond told apart by index and id.
     */
    TRACEPULSE_ELASTICSEARCH_TIEBREAKER_FIELD: z.string().trim().min(1).optional(),
    TRACEPULSE_ELASTICSEARCH_CORRELATION_FIELDS: list
      .pipe(z.array(z.string()).min(1))
      .default(['labels.correlation_id', 'trace.id']),
    // --- Cluster (issue 13): optional sync to Redis, several instances acting as one (docs/cluster.md).
    /** redis:// or rediss:// URL; sync to Redis is on when set (and cluster mode, unless TRACEPULSE_CLUSTER=off). */
    REDIS_URL: url(['redis:', 'rediss:', 'redis+unix:', 'valkey:']).optional(),
    /** Prefix of every Redis key and channel TracePulse uses (several deployments may share one Redis). */
    TRACEPULSE_REDIS_PREFIX: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[^\s*?[\]]+$/, 'no spaces or glob characters')
      .default('tracepulse:'),
    /**
     * redis: several instances act as one (MQTT shared subscriptions, one analysis and one delivery
     * per trigger, shared window evidence); off: Redis is only mirrored to. Default: redis when
     * REDIS_URL is set.
     */
    TRACEPULSE_CLUSTER: z.enum(['redis', 'off']).optional(),
    /** This instance's name among its peers; default the host name (a Kubernetes pod's name). */
    TRACEPULSE_INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, dot, dash, underscore; at most 100')
      .optional(),
    /** MQTT shared subscription group of the cluster ($share/<group>/...). */
    TRACEPULSE_MQTT_SHARE_GROUP: z
      .string()
      .regex(/^[^#+/]{1,100}$/, 'no MQTT wildcards or slashes')
      .default('tracepulse'),
    /** A trigger's claim expires this long after its holder last renewed it; then another instance takes over. */
    TRACEPULSE_CLAIM_TTL_MS: int(500, 600_000).default(10_000),
    /** A claimed trigger is analysed this long after its claim, so peers' lines of its last moments reach Redis. */
    TRACEPULSE_CLUSTER_SETTLE_MS: int(0, 10_000).default(50),
    /** Entries kept per shared evidence stream (one per session and one per service's warnings). */
    TRACEPULSE_REDIS_EVIDENCE_MAXLEN: int(100, 1_000_000).default(5000),
    /** Entries kept in the <prefix>reports stream for fleet consumers. */
    TRACEPULSE_REDIS_REPORTS_MAXLEN: int(100, 10_000_000).default(100_000),
  })
  .passthrough();

export type Config = z.output<typeof configSchema> & {
  TRACEPULSE_HOST: string;
  /** Resolved: redis when REDIS_URL is set and TRACEPULSE_CLUSTER is not off. */
  TRACEPULSE_CLUSTER: 'redis' | 'off';
};

/** Parses the environment; on failure throws with one line per bad variable, naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  // Parsed once: jitless spares zod compiling a fast path for it (~5 ms of start-up in the interpreter).
  const parsed = configSchema.safeParse(clean, { jitless: true });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(lines);
  }
  const c = parsed.data;
  return {
    ...c,
    TRACEPULSE_HOST: c.TRACEPULSE_HOST ?? (c.TRACEPULSE_API_KEYS.length ? '0.0.0.0' : '127.0.0.1'),
    TRACEPULSE_CLUSTER: c.REDIS_URL ? (c.TRACEPULSE_CLUSTER ?? 'redis') : 'off',
  };
}

/** Variables read outside the schema (deploy scripts, the unit), so never reported as unknown. */
const otherKnown = new Set(['TRACEPULSE_BIN', 'TRACEPULSE_ENV_FILE']);

/** One warning per TRACEPULSE_* variable the schema does not know, naming the closest valid one. */
export function unknownVariableWarnings(env: Record<string, string | undefined> = process.env): string[] {
  const known = Object.keys(configSchema.shape);
  return Object.keys(env)
    .filter((k) => k.startsWith('TRACEPULSE_') && !known.includes(k) && !otherKnown.has(k))
    .sort()
    .map((k) => {
      const best = known
        .filter((n) => n.startsWith('TRACEPULSE_'))
        .map((n) => ({ n, d: editDistance(k, n) }))
        .sort((a, b) => a.d - b.d)[0];
      return best && best.d <= Math.max(3, Math.floor(k.length / 4))
        ? `unknown variable ${k} ignored; did you mean ${best.n}?`
        : `unknown variable ${k} ignored`;
    });
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}
