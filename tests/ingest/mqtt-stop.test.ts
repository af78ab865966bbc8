// Issue 15 (first-user friction): a clean stop is not reported as a lost connection.
import { expect, test } from 'bun:test';
import { startTestApp, waitFor } from '../helpers/test-app.ts';

test('stopping the service logs no "MQTT connection lost; reconnecting"', async () => {
  const prefix = `tp-stop-${process.pid}-${Date.now()}`;
  const app = await startTestApp({
    TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
    TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
    TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-rx`,
  });
  await waitFor(() => app.mqtt?.state().subscribed, 5000, 'MQTT subscription');
  await app.close();
  const log = app.logLines.join('\n');
  expect(log).toContain('TracePulse stopped');
  expect(log).not.toContain('MQTT connection lost');
});
