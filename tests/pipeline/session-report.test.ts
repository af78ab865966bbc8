// The report and the UI thread carry the trigger's charging session (issue 14). The log is written in
// libocpp's message log format (EVerest/libocpp@0a1880a0b12efd82e745707d4bffe50568f055fb:
// lib/ocpp/common/ocpp_logging.cpp write_log_to_file), a constructed OCPP 1.6J session, not a capture:
// a charge with MeterValues every 60 s, one MeterValues the CSMS never answers, then the charger loses
// power, reconnects after a reboot and sends the queued StopTransaction with reason PowerLoss
// (OCPP 1.6 §7.6 Reason; the stop time is when power was lost, before the reboot).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ingestCommand } from '../../src/cli/ingest.ts';
import type { Report } from '../../src/core/report.ts';
import {
  buildSessionTimeline,
  condenseTimeline,
  type SessionStory,
} from '../../src/core/session-timeline.ts';
import type { LogLine } from '../../src/core/log-line.ts';
import { envelopeOf } from '../../src/deliver/envelope.ts';
import { digestHtml } from '../../src/deliver/email-sink.ts';
import { createRedactor } from '../../src/deliver/redact.ts';
import { digestOf, digestText } from '../../src/deliver/report-digest.ts';
import { slackMessage } from '../../src/deliver/slack-message.ts';
import { startTestApp, type TestApp, waitFor } from '../helpers/test-app.ts';
import { addUser, get, login } from '../ui/helpers.ts';

const fixture = join(import.meta.dir, '..', 'fixtures', 'ocpp', 'libocpp-16-powerloss.log');
// The 1.6 session is named after its first frame: the connector's Preparing (ocpp-translate.ts).
const session = 'cp002:7c0d5a44-31e2-4b7e-9f10-5e6a7b8c9d03';
let app: TestApp;
let cookie: string;
let report: Report;

const sink = () => {
  const chunks: string[] = [];
  return { write: (t: string) => chunks.push(t), text: () => chunks.join('') };
};

beforeAll(async () => {
  app = await startTestApp({ TRACEPULSE_LEARN: 'off' });
  await addUser(app, 'erin', 'engineer');
  cookie = await login(app, 'erin');
  const out = sink();
  const err = sink();
  const code = await ingestCommand(['ocpp-log', fixture, '--charge-point', 'cp002', '--url', app.url], {
    out,
    err,
  });
  expect(err.text()).toBe('');
  expect(code).toBe(0);
  const reports = await waitFor(async () => {
    const r = (await (
      await fetch(`${app.url}/api/reports?correlationId=${encodeURIComponent(session)}`)
    ).json()) as { reports: Report[] };
    return r.reports.length ? r.reports : null;
  });
  expect(reports.map((r) => `${r.eventType}/${r.errorCode}`)).toEqual(['SESSION_DROP/PowerLoss']);
  report = reports[0] as Report;
});
afterAll(() => app?.close());

describe('the session in the report', () => {
  test('the stored report carries the session in order, from the plug-in to the stop, its trigger and gaps marked', async () => {
    const s = report.session as SessionStory;
    expect(s.correlationId).toBe(session);
    const times = s.entries.map((e) => e.time);
    expect([...times].sort()).toEqual(times);
    const steps = s.entries.map((e) => `${e.phase} ${e.eventType ?? e.message.split(' {')[0]}`);
    // The story opens at the plug-in and the authorization, before any charging.
    expect(steps.slice(0, 4)).toEqual([
      'ocpp OCPP cp->csms CALL StatusNotification',
      'ocpp OCPP csms->cp CALLRESULT StatusNotification',
      'authorization OCPP cp->csms CALL Authorize',
      'authorization OCPP csms->cp CALLRESULT Authorize',
    ]);
    const trigger = s.entries.find((e) => e.eventId === report.eventId);
    expect(trigger).toMatchObject({ phase: 'stop', eventType: 'SESSION_DROP', errorCode: 'PowerLoss' });
    expect(trigger?.time).toBe('2026-11-26T14:15:20.000Z');
    expect(steps).toContain('stop OCPP cp->csms CALL StopTransaction');
    // Gaps: the MeterValues the CSMS never answered, and the meter readings that stopped with the power.
    expect(s.gaps.map((g) => [g.kind, g.time])).toEqual([
      ['meter_values_stopped', '2026-11-26T14:15:06.000Z'],
      ['missing_response', '2026-11-26T14:15:36.000Z'],
    ]);
    expect(s.gaps[1]?.message).toStartWith('OCPP no response to MeterValues');
    expect(s.omitted).toBe(0);

    // Read back through the API by id: stored with the report, not rebuilt.
    const byId = (await (await fetch(`${app.url}/api/reports/${report.id}`)).json()) as Report;
    expect(byId.session).toEqual(s);
  });

  test('a report leaving the device carries the session with the idTag redacted', () => {
    const redact = createRedactor(['idTag']);
    const env = envelopeOf({ kind: 'revised', report }, redact);
    const text = JSON.stringify(env.report.session);
    expect(text).toContain('CALL Authorize');
    expect(text).not.toContain('04A2B3C4D5E6F7');
  });

  test('Slack and email messages give the session in one line: its steps, span and gaps', () => {
    const d = digestOf({ kind: 'created', report }, null);
    const line = `${session}: ${report.session?.entries.length} steps 14:10:00–14:24:42 UTC; 2 gaps: MeterValues stopped at 14:15:06, no response at 14:15:36`;
    expect(d.session).toBe(line);
    expect(digestText(d)).toContain(`Session: ${line}\n`);
    expect(digestHtml(d)).toContain(`<strong>Session:</strong> ${line}`);
    expect(JSON.stringify(slackMessage(d, []).blocks)).toContain(`*Session:* ${line}`);
    expect(digestOf({ kind: 'created', report: { ...report, session: undefined } }, null).session).toBeNull();
  });

  test('the UI thread shows the session story with its gaps and the trigger, in order', async () => {
    const r = await get(app, `/chat/r/${encodeURIComponent(report.id)}`, cookie);
    expect(r.status).toBe(200);
    const html = await r.text();
    const start = html.indexOf('id="h-session"');
    expect(start).toBeGreaterThan(0);
    const section = html.slice(start, html.indexOf('</section>', start));
    expect(section).toContain(session);
    expect(section).toContain(`href="/api/sessions/${encodeURIComponent(session)}"`);
    expect(section).toContain('2 gaps');
    expect(section).toContain('gap: no response');
    expect(section).toContain('gap: MeterValues stopped (none for');
    expect(section).toContain('SESSION_DROP PowerLoss (this report)');
    const at = (t: string) => {
      const i = section.indexOf(t);
      expect(i).toBeGreaterThan(-1);
      return i;
    };
    expect(at('CALL Authorize')).toBeLessThan(at('CALL StartTransaction'));
    expect(at('CALL StartTransaction')).toBeLessThan(at('SESSION_DROP PowerLoss'));
    expect(at('SESSION_DROP PowerLoss')).toBeLessThan(at('CALL StopTransaction'));
  });

  test('a trigger without a correlationId has no session, in the report or the thread', async () => {
    const res = await fetch(`${app.url}/webhook/event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventType: 'SESSION_DROP',
        service: 'SessionManager',
        errorCode: 'TIMEOUT',
        priority: 'high',
      }),
    });
    const { eventId } = (await res.json()) as { eventId: string };
    const lone = await waitFor(async () => {
      const r = (await (await fetch(`${app.url}/api/reports?service=SessionManager`)).json()) as {
        reports: Report[];
      };
      return r.reports.find((x) => x.eventId === eventId);
    });
    expect(lone.session).toBeUndefined();
    const html = await (await get(app, `/chat/r/${encodeURIComponent(lone.id)}`, cookie)).text();
    expect(html).not.toContain('id="h-session"');
  });
});

describe('condenseTimeline', () => {
  test('a long charge keeps its opening, its end and the events and warnings between, and counts the rest', () => {
    const t0 = Date.parse('2026-11-26T10:00:00Z');
    const logs: LogLine[] = [];
    for (let i = 0; i < 300; i++)
      logs.push({
        timestamp: t0 + i * 60_000,
        service: 'ocpp',
        level: i === 150 ? 'warn' : 'info',
        message: i === 150 ? 'OCPP no response to MeterValues' : `OCPP cp->csms CALL MeterValues #${i}`,
        correlationId: 's',
        attributes: { action: 'MeterValues', messageType: 'CALL' },
        source: 'ocpp',
      });
    const full = buildSessionTimeline(
      's',
      [
        {
          id: 'e1',
          eventType: 'OCPP_STATUS_ERROR',
          service: 'ocpp',
          errorCode: 'HighTemperature',
          correlationId: 's',
          details: {},
          priority: 'low',
          timestamp: t0 + 100 * 60_000 + 1,
          receivedAt: t0,
          message: null,
          source: 'ocpp',
        },
      ],
      logs,
    );
    const c = condenseTimeline(full, 40);
    expect(c.entries).toHaveLength(40);
    expect(c.omitted).toBe(301 - 40);
    expect(c.entries.reduce((n, e) => n + (e.skipped ?? 0), 0)).toBe(c.omitted);
    expect(c.entries[0]?.message).toBe('OCPP cp->csms CALL MeterValues #0');
    expect(c.entries.at(-1)?.message).toBe('OCPP cp->csms CALL MeterValues #299');
    expect(c.entries.some((e) => e.eventId === 'e1')).toBe(true);
    expect(c.entries.some((e) => e.level === 'warn')).toBe(true);
    // A short story is carried whole.
    expect(condenseTimeline(buildSessionTimeline('s', [], logs.slice(0, 10)), 40)).toMatchObject({
      omitted: 0,
      entries: { length: 10 },
    });
  });
});
