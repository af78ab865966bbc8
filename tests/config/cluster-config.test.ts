// Issue 13: REDIS_URL turns Redis sync on and implies cluster mode unless TRACEPULSE_CLUSTER=off.
import { describe, expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../src/config/config.ts';

describe('cluster settings', () => {
  test('no REDIS_URL: cluster mode off, whatever TRACEPULSE_CLUSTER says', () => {
    expect(loadConfig({}).TRACEPULSE_CLUSTER).toBe('off');
    expect(loadConfig({ TRACEPULSE_CLUSTER: 'redis' }).TRACEPULSE_CLUSTER).toBe('off');
  });

  test('REDIS_URL implies cluster mode; TRACEPULSE_CLUSTER=off keeps only the sync', () => {
    const on = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(on.TRACEPULSE_CLUSTER).toBe('redis');
    expect(on.TRACEPULSE_REDIS_PREFIX).toBe('tracepulse:');
    expect(loadConfig({ REDIS_URL: 'redis://r:6379', TRACEPULSE_CLUSTER: 'off' }).TRACEPULSE_CLUSTER).toBe(
      'off',
    );
  });

  test('bad values are listed together, each naming its variable', () => {
    try {
      loadConfig({
        REDIS_URL: 'http://redis:6379',
        TRACEPULSE_REDIS_PREFIX: 'a b*',
        TRACEPULSE_INSTANCE_ID: 'pod/0',
        TRACEPULSE_MQTT_SHARE_GROUP: 'a/#',
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const names = (err as ConfigError).problems.map((p) => p.split(':')[0]);
      expect(names.sort()).toEqual([
        'REDIS_URL',
        'TRACEPULSE_INSTANCE_ID',
        'TRACEPULSE_MQTT_SHARE_GROUP',
        'TRACEPULSE_REDIS_PREFIX',
      ]);
    }
  });
});
