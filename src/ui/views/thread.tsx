/** @jsxImportSource hono/jsx */
import { atLeast } from '../../auth/roles.ts';
import type { Session } from '../../auth/session.ts';
import type { MapSuggestion, Report } from '../../core/report.ts';
import type { SessionStory as Story } from '../../core/session-timeline.ts';
import type { ChatMessage } from '../../store/chat-store.ts';
import type { Feedback } from '../../store/feedback-store.ts';
import type { PathGraph, TimelineItem } from '../timeline.ts';
import { PathSvg } from './path-svg.tsx';
import { MapSuggestions, RelatedReports } from './report-links.tsx';
import { Bar, clock, dayClock, pct } from './report-message.tsx';
import { SessionStory } from './session-story.tsx';

export interface ThreadProps {
  report: Report;
  session: Session;
  eventAt: number;
  /** What the station's clock said when it was implausible (then eventAt is the arrival time). */
  sourceClock?: string | null;
  timeline: TimelineItem[];
  path: PathGraph;
  /** The trigger's charging session (its correlationId), in order, with its gaps. */
  chargingSession: Story | null;
  messages: ChatMessage[];
  feedback: Feedback[];
  /** The report's suggested map edges, each with whether the map in force has it already. */
  mapSuggestions: Array<MapSuggestion & { inMap: boolean }>;
  /** Services a correction may name: the report's candidates first, then the rest of the map. */
  rootOptions: string[];
  changeOptions: Array<{ id: string; label: string }>;
  backTo: { href: string; label: string };
  notice?: { kind: 'ok' | 'error'; text: string };
}

/** A report's thread: hypotheses, evidence timeline, map path, revisions, feedback and conversation. */
export function Thread(p: ThreadProps) {
  const r = p.report;
  const canAct = atLeast(p.session.role, 'engineer');
  return (
    <article class="thread" data-report={r.id}>
      <a class="back" href={p.backTo.href}>
        ← #{p.backTo.label}
      </a>
      <h1>
        {r.eventType} on {r.service} <small>({r.errorCode})</small>
      </h1>
      <p class="sum">{r.summary}</p>
      {p.sourceClock ? (
        <p class="notice clock" role="note">
          The station's clock was clearly wrong (it stamped the event {p.sourceClock}): the arrival time,{' '}
          {dayClock(p.eventAt)} UTC, was used for the evidence window.
        </p>
      ) : null}
      <p class="meta">
        {dayClock(Date.parse(r.createdAt))} UTC · station {r.stationId ?? '?'} · {r.source} · revision{' '}
        {r.revision} · model <code>{r.modelVersion}</code> · {r.latencyMs} ms
        {r.changesFromCache ? ' · changes from cache (GitHub unreachable)' : ''}
      </p>
      {p.notice ? (
        <p class={`notice ${p.notice.kind}`} role={p.notice.kind === 'error' ? 'alert' : 'status'}>
          {p.notice.text}
        </p>
      ) : null}

      <section aria-labelledby="h-hyp">
        <h2 id="h-hyp">Hypotheses</h2>
        <ol class="hyps">
          {r.hypotheses.map((h) => (
            <li>
              <div class="hyp-head">
                <b>{h.service}</b> <Bar confidence={h.confidence} label={h.service} />{' '}
                <span>{pct(h.confidence)}%</span>
                {h.file ? (
                  <code class="loc">
                    {h.file}
                    {h.function ? ` · ${h.function}` : ''}
                  </code>
                ) : null}
              </div>
              {h.change ? (
                <div class="chg">
                  change <code>{h.change.sha?.slice(0, 10) ?? h.change.id}</code>{' '}
                  {h.change.message.split('\n')[0]}
                  {h.change.author ? ` (${h.change.author})` : ''}
                </div>
              ) : null}
              {h.reasons.length ? (
                <ul class="reasons">
                  {h.reasons.slice(0, 6).map((x) => (
                    <li>{x}</li>
                  ))}
                </ul>
              ) : null}
            </li>
          ))}
        </ol>
      </section>

      <RelatedReports related={r.relatedReports ?? []} />
      <MapSuggestions reportId={r.id} suggestions={p.mapSuggestions} canAct={canAct} csrf={p.session.csrf} />

      <section aria-labelledby="h-path">
        <h2 id="h-path">Path through the map</h2>
        <div class="pathwrap">
          <PathSvg graph={p.path} />
        </div>
      </section>

      <SessionStory story={p.chargingSession} eventId={r.eventId} eventAt={p.eventAt} />

      <section aria-labelledby="h-tl">
        <h2 id="h-tl">Evidence timeline</h2>
        <ol class="timeline">
          {p.timeline.map((it) => {
            const relText = relativeLabel(it.at - p.eventAt);
            if (it.kind === 'event')
              return (
                <li class="tl event">
                  <time>{timelineTime(it.at, p.eventAt)}</time> <span class="rel">{relText}</span>{' '}
                  <b>{it.text}</b>
                </li>
              );
            if (it.kind === 'log')
              return (
                <li class={`tl log ${it.level}${it.correlated ? ' corr' : ''}`}>
                  <time>{timelineTime(it.at, p.eventAt)}</time> <span class="rel">{relText}</span>{' '}
                  <span class="svc">{it.service}</span> <span class="lvl">{it.level.toUpperCase()}</span>{' '}
                  {it.message}
                </li>
              );
            const c = it.change;
            return (
              <li class="tl change">
                <time>{timelineTime(it.at, p.eventAt)}</time> <span class="rel">{relText}</span>{' '}
                <span class="svc">{c.service ?? '?'}</span> {c.kind}{' '}
                <code>{c.sha?.slice(0, 10) ?? c.id}</code> {c.summary.split('\n')[0]}
                {c.author ? ` (${c.author})` : ''}
                {it.blamedFor.length ? (
                  <span class="blamed"> blamed for {it.blamedFor.join(', ')}</span>
                ) : null}
                {it.hunks.length ? (
                  <details open={it.blamedFor.length > 0}>
                    <summary>
                      diff: {it.hunks.length} hunk{it.hunks.length > 1 ? 's' : ''}
                      {it.moreHunks ? ` (+${it.moreHunks} more)` : ''}
                    </summary>
                    {it.hunks.map((h) => (
                      <pre class="diff">
                        <span class="hunk">
                          {h.file} {h.header}
                        </span>
                        {'\n'}
                        {h.lines.map((l) => (
                          <span class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : 'ctx'}>
                            {l.op}
                            {l.text}
                            {'\n'}
                          </span>
                        ))}
                        {h.cut ? `… ${h.cut} more lines\n` : ''}
                      </pre>
                    ))}
                  </details>
                ) : null}
              </li>
            );
          })}
        </ol>
      </section>

      {/* Revision 1 is the report itself; the section shows refinements (LLM) when there are any. */}
      {(r.revisions?.length ?? 0) > 1 ? (
        <section aria-labelledby="h-rev">
          <h2 id="h-rev">Revisions</h2>
          <ol class="revisions">
            {(r.revisions ?? []).map((v) => (
              <li>
                <b>rev {v.revision}</b> ({v.source}, {dayClock(Date.parse(v.createdAt))}) {v.summary}
                {v.explanation ? <p>{v.explanation}</p> : null}
                {v.nextSteps?.length ? (
                  <ul>
                    {v.nextSteps.map((s) => (
                      <li>{s}</li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ol>
        </section>
      ) : null}

      <section aria-labelledby="h-fb">
        <h2 id="h-fb">Feedback</h2>
        {p.feedback.length ? (
          <ul class="feedback-list">
            {p.feedback.map((f) => (
              <li class={`fb ${f.verdict}`}>
                <b>{f.author}</b> {f.verdict === 'confirmed' ? 'confirmed' : 'corrected to'}{' '}
                <b>{f.rootService}</b>
                {f.changeId ? (
                  <span>
                    {' '}
                    (change <code>{f.changeId}</code>)
                  </span>
                ) : null}
                {f.note ? <span>: “{f.note}”</span> : null} <time>{dayClock(f.createdAt)}</time>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No feedback yet.</p>
        )}
        {canAct ? (
          <form method="post" action="/chat/feedback" class="fbform">
            <input type="hidden" name="_csrf" value={p.session.csrf} />
            <input type="hidden" name="reportId" value={r.id} />
            <fieldset>
              <legend>Was the top hypothesis ({r.hypotheses[0]?.service ?? 'none'}) right?</legend>
              <label>
                <input type="radio" name="verdict" value="confirmed" checked /> Yes, confirm it
              </label>
              <label>
                <input type="radio" name="verdict" value="rejected" /> No, the root cause was:
              </label>
              <label>
                Service{' '}
                <select name="rootService" id="rootService">
                  <option value="">(choose)</option>
                  {p.rootOptions.map((s) => (
                    <option value={s}>{s}</option>
                  ))}
                </select>
              </label>
              <label>
                Change (if known) <input name="changeId" list="changes" maxlength={200} autocomplete="off" />
              </label>
              <datalist id="changes">
                {p.changeOptions.map((c) => (
                  <option value={c.id}>{c.label}</option>
                ))}
              </datalist>
              <label class="wide">
                Note <input name="note" maxlength={2000} />
              </label>
              <button type="submit">Send feedback</button>
            </fieldset>
          </form>
        ) : (
          <p class="muted">Viewers cannot give feedback.</p>
        )}
      </section>

      <section aria-labelledby="h-conv">
        <h2 id="h-conv">Conversation</h2>
        <ol class="conversation" id="conversation">
          {p.messages.map((m) => (
            <li class={`cm ${m.kind}`} id={`m-${m.id}`}>
              <div class="meta">
                <b>{m.author}</b> <time>{dayClock(m.createdAt)}</time>
                {m.kind === 'answer' ? (
                  <span class="by">{m.answeredBy === 'llm' ? 'LLM' : 'local data'}</span>
                ) : null}
              </div>
              <div class="text">{m.text}</div>
              {m.citations.length ? (
                <ol class="cites" aria-label="Evidence">
                  {m.citations.map((c) => (
                    <li>
                      <span class="ck">{c.kind}</span> {c.text}
                    </li>
                  ))}
                </ol>
              ) : null}
            </li>
          ))}
        </ol>
        {canAct ? (
          <form method="post" action={`/chat/r/${encodeURIComponent(r.id)}/ask`} class="ask" id="ask">
            <input type="hidden" name="_csrf" value={p.session.csrf} />
            <label for="question">Ask about this report</label>
            <div class="askrow">
              <input
                id="question"
                name="question"
                required
                maxlength={1000}
                autocomplete="off"
                placeholder={`e.g. what changed in ${r.hypotheses[0]?.service ?? r.service}?`}
              />
              <button type="submit">Ask</button>
            </div>
          </form>
        ) : (
          <p class="muted">Viewers can read the conversation; engineers can ask.</p>
        )}
      </section>
    </article>
  );
}

/** Offset from the event as a person reads it: T-12s, T+1m35s, T-2h05m, T-3d4h. */
export function relativeLabel(ms: number): string {
  const total = Math.round(Math.abs(ms) / 1000);
  if (total === 0) return 'T';
  const sign = ms < 0 ? '-' : '+';
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3_600);
  const m = Math.floor((total % 3_600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  const body =
    d > 0 ? `${d}d${h ? `${h}h` : ''}` : h > 0 ? `${h}h${two(m)}m` : m > 0 ? `${m}m${two(s)}s` : `${s}s`;
  return `T${sign}${body}`;
}

/** The clock time of a timeline item, with its date when it is not on the event's day (UTC). */
export function timelineTime(at: number, eventAt: number): string {
  const sameDay = new Date(at).toISOString().slice(0, 10) === new Date(eventAt).toISOString().slice(0, 10);
  return sameDay ? clock(at) : dayClock(at);
}
