import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('config', () => {
  test('defaults match the documented contract', () => {
    const c = loadConfig({});
    expect(c.TRACEPULSE_PORT).toBe(3000);
    expect(c.TRACEPULSE_HOST).toBe('127.0.0.1'); // no keys: loopback only (issue 15)
    expect(c.TRACEPULSE_DATA_DIR).toBe('./data');
    expect(c.TRACEPULSE_SYSTEM_MAP).toBe('./system-map.yaml');
    expect(c.TRACEPULSE_MQTT_URL).toBeUndefined();
    expect(c.TRACEPULSE_MQTT_TOPIC_PREFIX).toBe('tracepulse');
    expect(c.TRACEPULSE_API_KEYS).toEqual([]);
    expect(c.TRACEPULSE_MAX_BODY_BYTES).toBe(65536);
  });

  test('API keys are a comma list', () => {
    expect(loadConfig({ TRACEPULSE_API_KEYS: 'gw-key-1, fleet-key-2,' }).TRACEPULSE_API_KEYS).toEqual([
      'gw-key-1',
      'fleet-key-2',
    ]);
  });

  test('every bad variable is named, all at once', () => {
    try {
      loadConfig({
        TRACEPULSE_PORT: 'eighty',
        TRACEPULSE_MQTT_URL: 'http://broker',
        TRACEPULSE_MQTT_TOPIC_PREFIX: 'a/#',
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const names = (err as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(names.sort()).toEqual([
        'TRACEPULSE_MQTT_TOPIC_PREFIX',
        'TRACEPULSE_MQTT_URL',
        'TRACEPULSE_PORT',
      ]);
    }
  });
});
