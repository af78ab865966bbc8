import type { Config } from '../config/config.ts';
import { unknownVariableWarnings } from '../config/config.ts';
import type { Logger } from '../core/logger.ts';

/**
 * Waits for `p`, but at most `ms`; then calls `onTimeout` and goes on. On the system's timers, not
 * the injected scheduler: shutdown must end even when a test's manual clock is never advanced.
 */
export async function withGrace(
  p: Promise<unknown> | undefined,
  ms: number,
  onTimeout: () => void,
): Promise<void> {
  if (!p) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  if ((await Promise.race([p, late])) === 'late') onTimeout();
  clearTimeout(timer);
}

/** The start-up lines: unknown TRACEPULSE_* variables, an open door without API keys, then "ready". */
export function logReady(deps: {
  config: Config;
  env: Record<string, string | undefined>;
  port: number;
  version: string;
  readyMs: number;
  logger: Logger;
}): void {
  const { config, port, logger } = deps;
  for (const w of unknownVariableWarnings(deps.env)) logger.warn(w);
  const loopback = /^(127\.|::1$|localhost$)/.test(config.TRACEPULSE_HOST);
  if (!config.TRACEPULSE_API_KEYS.length)
    logger.warn(
      loopback
        ? `no API keys: listening on ${config.TRACEPULSE_HOST} only; set TRACEPULSE_API_KEYS to take events from the network`
        : `no API keys: anyone who reaches ${config.TRACEPULSE_HOST}:${port} can write (TRACEPULSE_HOST was set); set TRACEPULSE_API_KEYS`,
    );
  logger.info('TracePulse ready', {
    version: deps.version,
    url: `http://${config.TRACEPULSE_HOST}:${port}`,
    mqtt: config.TRACEPULSE_MQTT_URL ? 'on' : 'off',
    readyMs: deps.readyMs,
  });
}
