// Issue 15: the planted identifiers, sent as a station would, reach none of the outbound paths:
// Slack, email (a real SMTP server), the fleet MQTT report (the real Mosquitto), the LLM and the
// stored outbox payload, all from the running service.
import { afterAll, expect, test } from 'bun:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import { connectAsync } from 'mqtt';
import { SMTPServer } from 'smtp-server';
import { postJson, startTestApp, type TestApp } from '../helpers/test-app.ts';
import { freePort } from '../deploy/support.ts';
import { startFakeOpenAI } from './support/fake-openai.ts';
import { startFakeSlack } from './support/fake-slack.ts';
import { waitFor } from './support/harness.ts';
import { plantedEvent, plantedLogs, plantedValues } from './support/planted.ts';

const stops: Array<() => unknown> = [];
afterAll(async () => {
  for (const s of stops.reverse()) await s();
});

test('no planted identifier leaves the device on any outbound path', async () => {
  const slack = await startFakeSlack();
  stops.push(() => slack.stop());
  const llm = await startFakeOpenAI(() => ({
    content: JSON.stringify({
      ranking: [],
      summary: 'Most likely the pilot line.',
      explanation: 'x',
      nextSteps: [],
    }),
  }));
  stops.push(() => llm.stop());
  const mails: ParsedMail[] = [];
  const smtpPort = await freePort();
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _s, cb) {
      simpleParser(stream).then((m) => {
        mails.push(m);
        cb();
      }, cb);
    },
  });
  await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', () => r()));
  stops.push(() => new Promise<void>((r) => smtp.close(() => r())));

  const prefix = `tp-redact-${process.pid}-${Date.now()}`;
  const fleet = await connectAsync('mqtt://127.0.0.1:1883', {
    clientId: `${prefix}-fleet`,
    protocolVersion: 5,
  });
  stops.push(() => fleet.endAsync());
  const published: string[] = [];
  await fleet.subscribeAsync(`${prefix}/reports/#`, { qos: 1 });
  fleet.on('message', (_t, payload) => published.push(payload.toString()));

  const app: TestApp = await startTestApp({
    TRACEPULSE_STATION_ID: 'EV-Station-01',
    TRACEPULSE_PUBLIC_URL: 'http://gateway-site-042.local:3000',
    TRACEPULSE_OUTBOX_BACKOFF_MS: '50',
    TRACEPULSE_LEARN: 'off',
    SLACK_BOT_TOKEN: slack.token,
    SLACK_API_URL: slack.url,
    OPENAI_BASE_URL: llm.url,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    TRACEPULSE_EMAIL_TO: 'oncall@example.com',
    TRACEPULSE_MQTT_URL: 'mqtt://127.0.0.1:1883',
    TRACEPULSE_MQTT_TOPIC_PREFIX: prefix,
  });
  stops.push(() => app.close());

  const correlationId = `txn-planted-${Date.now()}`;
  expect((await postJson(`${app.url}/api/logs`, plantedLogs(correlationId))).status).toBe(200);
  expect((await postJson(`${app.url}/webhook/event`, plantedEvent(correlationId))).status).toBe(200);

  await waitFor(
    'slack, email, mqtt and llm',
    () => slack.messages.length > 0 && mails.length > 0 && published.length > 0 && llm.requests.length > 0,
    10_000,
  );
  const outbox = await (await fetch(`${app.url}/api/outbox?status=sent`)).text();
  const paths: Record<string, string> = {
    slack: JSON.stringify(slack.messages),
    email: mails.map((m) => `${m.subject}\n${m.text}\n${m.html}`).join('\n'),
    mqtt: published.join('\n'),
    llm: JSON.stringify(llm.requests),
    outbox,
  };
  const leaks = Object.entries(paths).flatMap(([path, body]) =>
    plantedValues.filter((v) => body.includes(v)).map((v) => `${path}: ${v}`),
  );
  expect(leaks).toEqual([]);
  // The report itself still says what happened (redaction did not blank the whole message).
  expect(paths.slack).toContain('MREC14PilotFault');
}, 20_000);
