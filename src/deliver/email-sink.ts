import { createHash } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import { digestOf, digestText, type ReportDigest } from './report-digest.ts';
import { DeliveryError, permanent, type Sink, transient } from './sink.ts';

export interface EmailSinkOptions {
  /** smtp:// or smtps:// URL, with credentials if the server needs them. */
  smtpUrl: string;
  to: string[];
  from: string;
  publicUrl: string | null;
  timeoutMs: number;
  logger: Logger;
}

/** A stable RFC 5322 Message-ID for an outbox key: a resent copy is the same message to every mail store. */
export function messageIdFor(key: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'tracepulse.invalid';
  return `<tp.${createHash('sha256').update(key).digest('hex').slice(0, 40)}@${domain}>`;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const safeUrl = (u: string) => (/^https?:\/\//.test(u) ? esc(u) : '#');

/** The HTML part: the same facts as the text part, in the same order. */
export function digestHtml(d: ReportDigest): string {
  const rows: string[] = [];
  rows.push(`<p><strong>Event:</strong> ${esc(d.event)}</p>`);
  if (d.top)
    rows.push(
      `<p><strong>Top hypothesis:</strong> <code>${esc(d.top.service)}</code>${d.top.where ? ` (${esc(d.top.where)})` : ''}, confidence ${d.top.confidencePct}%</p>`,
    );
  if (d.change) {
    const label = esc(d.change.label);
    rows.push(
      `<p><strong>Change:</strong> ${d.change.url ? `<a href="${safeUrl(d.change.url)}">${label}</a>` : label}${d.change.author ? ` by ${esc(d.change.author)}` : ''}</p>`,
    );
  }
  if (d.session) rows.push(`<p><strong>Session:</strong> ${esc(d.session)}</p>`);
  rows.push(`<p>${esc(d.summary)}</p>`);
  if (d.explanation) rows.push(`<p>${esc(d.explanation)}</p>`);
  if (d.nextSteps.length)
    rows.push(
      `<p><strong>Next steps:</strong></p><ul>${d.nextSteps.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>`,
    );
  if (d.evidence.length)
    rows.push(
      `<p><strong>Evidence:</strong></p><ul>${d.evidence.map((e) => `<li><code>${esc(e)}</code></li>`).join('')}</ul>`,
    );
  if (d.reportUrl) rows.push(`<p>Report: <a href="${safeUrl(d.reportUrl)}">${esc(d.reportUrl)}</a></p>`);
  const heading = `${d.kindLabel}: ${d.title}${d.stationId ? ` at station ${d.stationId}` : ''}`;
  return `<!doctype html><html><body><h2>${esc(heading)}</h2>${rows.join('\n')}</body></html>`;
}

/** SMTP reply codes (RFC 5321 §4.2.1): 4yz transient, 5yz permanent, 503 is a session-state error. */
const smtpFailure = (err: unknown): DeliveryError => {
  const e = err as { code?: string; responseCode?: number; command?: string };
  const code = e.code ?? 'unknown';
  // Past the connection phase the server may have taken the message although we saw no reply.
  const maybeSent = e.command === 'DATA' || e.command === 'message';
  if (typeof e.responseCode === 'number' && e.responseCode >= 400) {
    const rc = e.responseCode;
    return rc >= 500 && rc !== 503
      ? permanent(`SMTP ${rc} (${code})`, err)
      : transient(`SMTP ${rc} (${code})`, { cause: err });
  }
  if (['ESOCKET', 'ECONNECTION', 'ETIMEDOUT', 'EDNS', 'ETLS', 'EPROXY'].includes(code))
    return new DeliveryError('unreachable', `SMTP ${code}`, { cause: err, maybeSent });
  if (['EAUTH', 'ENOAUTH', 'EENVELOPE', 'ECONFIG', 'EREQUIRETLS'].includes(code))
    return permanent(`SMTP ${code}`, err);
  return transient(`SMTP ${code}`, { cause: err, maybeSent });
};

/**
 * Sends each report as one email with a text and an HTML part of the same digest. A refinement
 * goes as a reply (In-Reply-To / References to the first message), so mail clients thread it.
 * Idempotency: the Message-ID is derived from the outbox key, so a copy sent again after a lost
 * answer is the same message, which mail stores and clients show once.
 */
export async function createEmailSink(o: EmailSinkOptions): Promise<Sink> {
  const nodemailer = await import('nodemailer');
  const u = new URL(o.smtpUrl);
  const secure = u.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    auth: u.username
      ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) }
      : undefined,
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: o.timeoutMs,
  });
  return {
    channel: 'email',
    timeoutMs: o.timeoutMs,
    accepts: (n) => n.kind === 'created' || n.kind === 'revised',
    async send(message) {
      const d = digestOf(message.payload, o.publicUrl);
      const baseSubject = `[TracePulse] ${d.stationId ?? 'station'}: ${d.title}`;
      const parentId = messageIdFor(`email:${message.reportId}:created`, o.from);
      const reply = message.kind !== 'created';
      const messageId = messageIdFor(message.key, o.from);
      try {
        const info = await transport.sendMail({
          from: o.from,
          to: o.to,
          subject: reply ? `Re: ${baseSubject}` : baseSubject,
          text: digestText(d),
          html: digestHtml(d),
          messageId,
          ...(reply ? { inReplyTo: parentId, references: [parentId] } : {}),
          headers: { 'X-TracePulse-Key': message.key, 'X-TracePulse-Report': message.reportId },
        });
        if (!info.accepted.length) throw permanent(`SMTP: every recipient rejected (${info.response})`);
        return { messageId, accepted: info.accepted.length, rejected: info.rejected.length };
      } catch (err) {
        if (err instanceof DeliveryError) throw err;
        throw smtpFailure(err);
      }
    },
    async close() {
      transport.close();
    },
  };
}
