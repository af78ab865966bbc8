import { afterEach, describe, expect, test } from 'bun:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { messageIdFor } from '../../src/deliver/email-sink.ts';
import { freePort } from '../deploy/support.ts';
import { ID_TAG, sampleEvent, sampleReport, VIN } from './support/fixtures.ts';
import { startHarness, waitFor } from './support/harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real SMTP server on 127.0.0.1 that parses every message it accepts. */
async function startSmtp(port: number, options: { rejectFirst?: number } = {}) {
  const mails: ParsedMail[] = [];
  let reject = options.rejectFirst ?? 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          if (reject > 0) {
            reject--;
            const err = Object.assign(new Error('Mailbox busy, try later'), { responseCode: 451 });
            callback(err);
            return;
          }
          mails.push(mail);
          callback();
        },
        (err) => callback(err),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  return {
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function setup(port: number) {
  const h = await startHarness({
    env: {
      SMTP_URL: `smtp://127.0.0.1:${port}`,
      TRACEPULSE_EMAIL_TO: 'oncall@example.com,firmware@example.com',
      TRACEPULSE_EMAIL_FROM: 'TracePulse EV-Station-01 <tracepulse@station01.example.com>',
    },
  });
  cleanups.push(() => h.cleanup());
  return h;
}

describe('email sink', () => {
  test('a report arrives as one email with a text and an HTML part of the same report', async () => {
    const port = await freePort();
    const smtp = await startSmtp(port);
    cleanups.push(smtp.close);
    const h = await setup(port);
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    await waitFor('mail', () => smtp.mails.length === 1);
    const mail = smtp.mails[0]!;
    expect(mail.subject).toBe('[TracePulse] EV-Station-01: MREC4OverCurrentFailure on evse_manager_2');
    // Derived from the outbox key: a copy sent again after a lost answer is the same message.
    expect(mail.messageId).toBe(
      messageIdFor(`email:${report.id}:created`, 'tracepulse@station01.example.com'),
    );
    const to = Array.isArray(mail.to) ? mail.to : [mail.to];
    expect(to.flatMap((a) => a?.value.map((v) => v.address))).toEqual([
      'oncall@example.com',
      'firmware@example.com',
    ]);
    for (const part of [mail.text ?? '', String(mail.html)]) {
      expect(part).toContain('powermeter_ac');
      expect(part).toContain('71%');
      expect(part).toContain('Modbus read_register timeout');
      expect(part).toContain(`http://gateway-site-042.local:3000/chat/r/${report.id}`);
      expect(part).not.toContain(ID_TAG);
      expect(part).not.toContain(VIN);
    }
    expect(String(mail.html)).toContain('<a href="https://github.com/EVerest/everest-core/commit/9f3c2a1b');
    await waitFor('sent', () => h.cm.repo.list({ status: 'sent' }).length === 1);
  });

  test('a refinement is a reply to the first email (In-Reply-To), not a new thread', async () => {
    const port = await freePort();
    const smtp = await startSmtp(port);
    cleanups.push(smtp.close);
    const h = await setup(port);
    const report = sampleReport();
    h.reports.create(report, sampleEvent());
    h.reports.addRevision(report.id, {
      hypotheses: report.hypotheses,
      summary: 'Stale Modbus reading of the AC meter.',
      explanation: 'The meter value was reused after a timeout.',
      nextSteps: ['Replace the RS485 termination resistor'],
      source: 'rules+llm',
    });
    await waitFor('two mails', () => smtp.mails.length === 2);
    const [first, reply] = smtp.mails;
    expect(reply!.subject).toBe(`Re: ${first!.subject}`);
    expect(reply!.inReplyTo).toBe(first!.messageId);
    expect(reply!.references).toContain(first!.messageId!);
    expect(reply!.text).toContain('Replace the RS485 termination resistor');
  });

  test('the mail server is down, then up; a 451 is retried: each report arrives once, in order', async () => {
    const port = await freePort();
    const h = await setup(port);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = sampleReport();
      ids.push(r.id);
      h.reports.create(r, sampleEvent());
    }
    await waitFor('channel down', () => h.cm.worker.channels().email?.link === 'down');
    const smtp = await startSmtp(port, { rejectFirst: 1 });
    cleanups.push(smtp.close);
    // Every row marked sent: no send is left that could deliver a fourth mail.
    await waitFor('three sent', () => h.cm.repo.list({ status: 'sent' }).length === 3, 8000);
    expect(smtp.mails).toHaveLength(3);
    expect(smtp.mails.map((m) => m.headers.get('x-tracepulse-report'))).toEqual(ids);
    const rows = h.cm.repo.list({ status: 'sent' });
    expect(rows).toHaveLength(3);
    // The 451 counted as one failed try; the refused connections did not.
    expect(rows.map((r) => r.failures).reduce((a, b) => a + b, 0)).toBe(1);
  });
});
