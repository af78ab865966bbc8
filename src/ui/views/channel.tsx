/** @jsxImportSource hono/jsx */
import type { Report } from '../../core/report.ts';
import { ReportMessage } from './report-message.tsx';

/** A channel: its reports as messages, oldest at the top like a chat, newest next to the bottom. */
export function ChannelView(p: {
  title: string;
  reports: Report[];
  incidentCounts: Map<string, number>;
  questions: Map<string, number>;
  truncated: boolean;
}) {
  const list = [...p.reports].reverse();
  return (
    <section class="channel" aria-labelledby="h-ch">
      <h1 id="h-ch">#{p.title}</h1>
      {p.truncated ? <p class="muted">Older reports are not shown.</p> : null}
      <ol class="messages" id="messages" aria-live="polite" aria-relevant="additions">
        {list.map((r) => (
          <ReportMessage
            report={r}
            incidentCount={r.incidentId ? p.incidentCounts.get(r.incidentId) : undefined}
            questions={p.questions.get(r.id)}
          />
        ))}
      </ol>
      <p class="empty muted" id="empty" hidden={list.length > 0}>
        No reports in this channel yet. New ones appear here live.
      </p>
    </section>
  );
}
