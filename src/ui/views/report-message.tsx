/** @jsxImportSource hono/jsx */
import type { Report } from '../../core/report.ts';

export const pct = (c: number): number => Math.round(Math.max(0, Math.min(1, c)) * 100);
export const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
export const dayClock = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

export function Bar(props: { confidence: number; label: string }) {
  const p = pct(props.confidence);
  return (
    <span class="bar" role="img" aria-label={`${props.label}: ${p}% confidence`}>
      <span style={`width:${p}%`} />
    </span>
  );
}

/** One report as a channel message (also rendered for live updates over the WebSocket). */
export function ReportMessage(props: { report: Report; incidentCount?: number; questions?: number }) {
  const r = props.report;
  const top = r.hypotheses[0];
  const at = Date.parse(r.createdAt);
  // When the failure happened, not when the report was made (a replay or a recovered trigger is
  // analysed long after); the report's time is in the tooltip.
  const eventAt = r.eventAt ?? r.createdAt;
  return (
    <li class="msg" id={`r-${r.id}`} data-report={r.id} data-created={at}>
      <div class="meta">
        <time datetime={eventAt} title={`reported ${dayClock(at)} UTC`}>
          {dayClock(Date.parse(eventAt))}
        </time>
        <span class="evt">{r.eventType}</span>
        <span>
          on <b>{r.service}</b> ({r.errorCode})
        </span>
        {r.stationId ? <span class="stn">{r.stationId}</span> : null}
        {r.incidentId ? (
          // Kept (hidden) for a lone report, so a storm that grows later can show its count live.
          <a
            class="storm"
            href={`/chat/c/${encodeURIComponent(`incident:${r.incidentId}`)}`}
            data-incident={r.incidentId}
            hidden={(props.incidentCount ?? 1) < 2}
          >
            storm ×<span class="storm-count">{props.incidentCount ?? 1}</span>
          </a>
        ) : null}
        {r.revision > 1 || r.source === 'rules+llm' ? <span class="rev">rev {r.revision}</span> : null}
      </div>
      {top ? (
        <div class="body">
          Top: <b>{top.service}</b> <Bar confidence={top.confidence} label={top.service} />{' '}
          {pct(top.confidence)}%
          {top.change ? (
            <span class="chg">
              {' '}
              · change <code>{top.change.sha?.slice(0, 10) ?? top.change.id}</code>{' '}
              {top.change.message.split('\n')[0]}
            </span>
          ) : null}
        </div>
      ) : (
        <div class="body">No hypothesis.</div>
      )}
      <p class="sum">{r.summary}</p>
      <a class="thread-link" href={`/chat/r/${encodeURIComponent(r.id)}`}>
        Open thread{props.questions ? ` · ${props.questions} question${props.questions > 1 ? 's' : ''}` : ''}
      </a>
    </li>
  );
}
