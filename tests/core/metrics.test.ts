import { expect, test } from 'bun:test';
import { createMetrics } from '../../src/core/metrics.ts';

test('a pre-bound counter and inc() with the same labels feed one series, whatever the label order', () => {
  const m = createMetrics();
  const mqttLow = m.counter('tracepulse_events_total', { source: 'mqtt', priority: 'low' });
  mqttLow();
  mqttLow(4);
  m.inc('tracepulse_events_total', { priority: 'low', source: 'mqtt' });
  m.inc('tracepulse_events_total', { source: 'http', priority: 'high' });
  expect(m.get('tracepulse_events_total', { source: 'mqtt', priority: 'low' })).toBe(6);
  expect(m.get('tracepulse_events_total', { source: 'http', priority: 'high' })).toBe(1);
  const text = m.render();
  expect(text).toContain('tracepulse_events_total{priority="low",source="mqtt"} 6\n');
  expect(text).toContain('tracepulse_events_total{priority="high",source="http"} 1\n');
});

test('label values are escaped for the Prometheus text format', () => {
  const m = createMetrics();
  m.counter('tracepulse_rejected_total', { reason: 'bad "json"\nline' })();
  expect(m.render()).toContain('tracepulse_rejected_total{reason="bad \\"json\\"\\nline"} 1');
});
