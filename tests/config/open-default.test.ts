// Issue 15 (first-user friction): no keys means loopback only, and misspelt variables are named.
import { describe, expect, test } from 'bun:test';
import { loadConfig, unknownVariableWarnings } from '../../src/config/config.ts';
import { startTestApp } from '../helpers/test-app.ts';

describe('the bind address', () => {
  test('without API keys it is loopback only; with keys, or set explicitly, it is what was asked', () => {
    expect(loadConfig({}).TRACEPULSE_HOST).toBe('127.0.0.1');
    expect(loadConfig({ TRACEPULSE_API_KEYS: 'station-key-1' }).TRACEPULSE_HOST).toBe('0.0.0.0');
    expect(loadConfig({ TRACEPULSE_HOST: '0.0.0.0' }).TRACEPULSE_HOST).toBe('0.0.0.0');
    expect(loadConfig({ TRACEPULSE_HOST: '192.168.50.2', TRACEPULSE_API_KEYS: 'k' }).TRACEPULSE_HOST).toBe(
      '192.168.50.2',
    );
  });
  test('start-up says in one line that the open service only listens on loopback', async () => {
    const app = await startTestApp();
    try {
      expect(app.logLines.join('\n')).toContain('no API keys: listening on 127.0.0.1 only');
    } finally {
      await app.close();
    }
  });
});

describe('misspelt TRACEPULSE_* variables', () => {
  test('are warned about with the closest valid name', () => {
    const w = unknownVariableWarnings({
      TRACEPULSE_API_KEY: 'k',
      TRACEPULSE_MQTT_URI: 'mqtt://127.0.0.1',
      TRACEPULSE_LOKI_ULR: 'http://loki:3100',
      TRACEPULSE_PORT: '3000',
      PATH: '/usr/bin',
    });
    expect(w).toEqual([
      'unknown variable TRACEPULSE_API_KEY ignored; did you mean TRACEPULSE_API_KEYS?',
      'unknown variable TRACEPULSE_LOKI_ULR ignored; did you mean TRACEPULSE_LOKI_URL?',
      'unknown variable TRACEPULSE_MQTT_URI ignored; did you mean TRACEPULSE_MQTT_URL?',
    ]);
  });
  test('are logged at start-up', async () => {
    const { createMemoryLogger } = await import('../../src/core/logger.ts');
    const { startApp } = await import('../../src/app.ts');
    const { tempDir, exampleMap } = await import('../helpers/test-app.ts');
    const logger = createMemoryLogger();
    const env = {
      TRACEPULSE_PORT: '0',
      TRACEPULSE_DATA_DIR: tempDir(),
      TRACEPULSE_SYSTEM_MAP: exampleMap,
      TRACEPULSE_RETENTON_DAYS: '3',
    };
    const app = await startApp(loadConfig(env), { logger, env });
    await app.stop();
    expect(logger.lines.join('\n')).toContain('did you mean TRACEPULSE_RETENTION_DAYS?');
  });
});
