import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/config.ts';
import { createLogger } from '../core/logger.ts';
import type { FeedTarget } from '../replay/target.ts';

/**
 * Settings that would make a replay reach out (GitHub, Slack, mail, LLM, MQTT): cleared for the
 * in-process service, so a replay uses only the stream's own records and is repeatable.
 */
const outboundSettings = [
  'TRACEPULSE_MQTT_URL',
  'GITHUB_TOKEN',
  'GITHUB_API_URL',
  'SLACK_BOT_TOKEN',
  'SMTP_URL',
  'OPENAI_API_KEY',
  'OPENAI_BASE_URL',
];

/**
 * Starts the real service (startApp) on 127.0.0.1, any free port, in a fresh temporary data dir.
 * Everything else (rules file, look-back, storm window...) comes from `env`, so a replay runs the
 * configuration under test. Retention is set to its maximum so past-dated streams are not pruned.
 */
export async function startLocalTarget(
  options: {
    env?: Record<string, string | undefined>;
    ownMap?: boolean;
    logLevel?: 'error' | 'warn' | 'info';
  } = {},
): Promise<FeedTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'tracepulse-replay-'));
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  for (const k of outboundSettings) delete env[k];
  const config = loadConfig({
    ...env,
    TRACEPULSE_PORT: '0',
    TRACEPULSE_HOST: '127.0.0.1',
    TRACEPULSE_DATA_DIR: dir,
    TRACEPULSE_RETENTION_DAYS: '3650',
    TRACEPULSE_MAX_BODY_BYTES: String(4 * 1024 * 1024),
    TRACEPULSE_LOG_LEVEL: options.logLevel ?? 'error',
    // A map file the stream does not control would be reloaded over the streamed maps.
    ...(options.ownMap ? { TRACEPULSE_SYSTEM_MAP: join(dir, 'system-map.yaml') } : {}),
  });
  const { startApp } = await import('../app.ts');
  const app = await startApp(config, { logger: createLogger({ level: config.TRACEPULSE_LOG_LEVEL }) });
  return {
    url: app.url,
    apiKey: config.TRACEPULSE_API_KEYS[0],
    maxBodyBytes: config.TRACEPULSE_MAX_BODY_BYTES,
    stop: async () => {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
