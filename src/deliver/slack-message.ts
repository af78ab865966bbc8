import type { ReportDigest } from './report-digest.ts';

/** A Block Kit block, as plain JSON (the subset we emit). */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji?: boolean } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> }
  | { type: 'divider' };

/** Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export const escapeMrkdwn = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const link = (url: string | null, label: string) =>
  url && /^https?:\/\//.test(url)
    ? `<${url.replace(/[<>|]/g, '')}|${escapeMrkdwn(label).replace(/\|/g, '¦')}>`
    : escapeMrkdwn(label);

/**
 * An owner from the map as a Slack mention: member ids (U…/W…) ping the person, subteam ids
 * (S…) ping a user group; anything else is shown as written (Slack does not resolve "@name").
 */
export function mention(owner: string): string {
  const o = owner.trim();
  if (/^[UW][A-Z0-9]{6,}$/.test(o)) return `<@${o}>`;
  if (/^S[A-Z0-9]{6,}$/.test(o)) return `<!subteam^${o}>`;
  if (/^<[@!#].+>$/.test(o)) return o;
  return escapeMrkdwn(o);
}

/** Block Kit message and its fallback text (the text is what notifications and screen readers use). */
export function slackMessage(d: ReportDigest, owners: string[]): { text: string; blocks: SlackBlock[] } {
  const mentions = [...new Set(owners)].map(mention).join(' ');
  const icon = d.kindLabel === 'New report' ? ':rotating_light:' : ':arrows_counterclockwise:';
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${d.kindLabel}: ${d.title}`, 150), emoji: true },
    },
  ];
  const facts = [
    `*Station:* ${escapeMrkdwn(d.stationId ?? 'unknown')}`,
    `*Event:* ${escapeMrkdwn(d.event)}`,
    d.top
      ? `*Top hypothesis:* \`${escapeMrkdwn(d.top.service)}\`${d.top.where ? ` (${escapeMrkdwn(d.top.where)})` : ''}, confidence *${d.top.confidencePct}%*`
      : '*Top hypothesis:* none',
  ];
  if (d.change)
    facts.push(
      `*Change:* ${link(d.change.url, d.change.label)}${d.change.author ? ` by ${escapeMrkdwn(d.change.author)}` : ''}`,
    );
  if (d.incident?.count)
    facts.push(`*Incident:* ${escapeMrkdwn(d.incident.id)}, ${d.incident.count} occurrences`);
  if (d.session) facts.push(`*Session:* ${escapeMrkdwn(d.session)}`);
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(facts.join('\n'), 3000) } });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(d.summary), 3000) } });
  if (d.explanation)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(escapeMrkdwn(d.explanation), 3000) } });
  if (d.nextSteps.length)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(`*Next steps*\n${d.nextSteps.map((s) => `• ${escapeMrkdwn(s)}`).join('\n')}`, 3000),
      },
    });
  if (d.evidence.length)
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: clip(
          `*Evidence*\n${d.evidence.map((e) => `• \`${escapeMrkdwn(clip(e, 300)).replace(/`/g, "'")}\``).join('\n')}`,
          3000,
        ),
      },
    });
  const context = [
    d.reportUrl ? link(d.reportUrl, 'Open the report') : 'report link: TRACEPULSE_PUBLIC_URL not set',
    `revision ${d.revision} (${d.source})`,
  ];
  if (mentions) context.push(`owners: ${mentions}`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(context.join(' · '), 3000) }] });

  const top = d.top ? ` Suspect: ${d.top.service} (${d.top.confidencePct}%).` : '';
  const text = `${icon} ${escapeMrkdwn(`${d.kindLabel}: ${d.title}${d.stationId ? ` at ${d.stationId}` : ''}.${top}`)}${mentions ? ` ${mentions}` : ''}`;
  return { text: clip(text, 3000), blocks };
}
