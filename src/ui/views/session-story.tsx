/** @jsxImportSource hono/jsx */
import type { SessionStory as Story, TimelineEntry, TimelineGap } from '../../core/session-timeline.ts';
import { relativeLabel, timelineTime } from './thread.tsx';

const gapLabel: Record<TimelineGap['kind'], string> = {
  missing_response: 'no response',
  meter_values_stopped: 'MeterValues stopped',
};

/**
 * The trigger's charging session in order across sources (authorization, OCPP, EvseManager, errors,
 * the stop), its gaps marked where they fall, the trigger itself highlighted.
 */
export function SessionStory(props: { story: Story | null; eventId: string; eventAt: number }) {
  const s = props.story;
  if (!s?.entries.length) return null;
  // A gap belongs to the entry it was seen at: the warn line of a missing response, the last MeterValues.
  const gapsAt = new Map<string, TimelineGap[]>();
  for (const g of s.gaps) {
    const entry = s.entries.find(
      (e) =>
        e.time === g.time &&
        (g.kind === 'missing_response' ? e.message === g.message : /MeterValues/.test(e.message)),
    );
    const key = entry ? keyOf(entry) : '';
    gapsAt.set(key, [...(gapsAt.get(key) ?? []), g]);
  }
  const unplaced = gapsAt.get('') ?? [];
  const href = `/api/sessions/${encodeURIComponent(s.correlationId)}`;
  return (
    <section aria-labelledby="h-session">
      <h2 id="h-session">Charging session</h2>
      <p class="muted">
        <code>{s.correlationId}</code> · {s.entries.length + s.omitted} steps
        {s.start && s.end
          ? ` from ${timelineTime(Date.parse(s.start), props.eventAt)} to ${timelineTime(Date.parse(s.end), props.eventAt)}`
          : ''}
        {s.omitted ? ` (${s.omitted} plain steps not shown)` : ''}
        {s.truncated ? ' · older steps not read' : ''} ·{' '}
        {s.gaps.length ? (
          <b class="gapcount">
            {s.gaps.length} gap{s.gaps.length > 1 ? 's' : ''}
          </b>
        ) : (
          'no gaps'
        )}{' '}
        · <a href={href}>whole story (JSON)</a>
      </p>
      <ol class="session-story">
        {s.entries.map((e) => {
          const at = Date.parse(e.time);
          const trigger = e.eventId === props.eventId;
          const gaps = gapsAt.get(keyOf(e)) ?? [];
          const cls = [
            'tl',
            e.kind,
            e.level ?? '',
            trigger ? 'trigger' : '',
            gaps.length ? 'gapped' : '',
            at > props.eventAt ? 'after' : '',
          ]
            .filter(Boolean)
            .join(' ');
          return (
            <>
              {e.skipped ? <li class="tl skipped">… {e.skipped} more</li> : null}
              <li class={cls} data-phase={e.phase}>
                <time>{timelineTime(at, props.eventAt)}</time>{' '}
                <span class="rel">{relativeLabel(at - props.eventAt)}</span>{' '}
                <span class="phase">{e.phase}</span> <span class="svc">{e.service}</span>{' '}
                {e.kind === 'event' ? (
                  <b>
                    {e.eventType} {e.errorCode}
                    {trigger ? ' (this report)' : ''}
                  </b>
                ) : (
                  <span class="lvl">{(e.level ?? 'info').toUpperCase()}</span>
                )}{' '}
                {e.kind === 'event' && e.message === `${e.eventType} ${e.errorCode}` ? '' : short(e.message)}
                {gaps.map((g) => (
                  <span class="gap">
                    {' '}
                    gap: {gapLabel[g.kind]}
                    {g.kind === 'meter_values_stopped'
                      ? ` (${g.message.replace(/^MeterValues stopped: /, '')})`
                      : ''}
                  </span>
                ))}
              </li>
            </>
          );
        })}
        {unplaced.map((g) => (
          <li class="tl gapped">
            <time>{timelineTime(Date.parse(g.time), props.eventAt)}</time>{' '}
            <span class="gap">gap: {gapLabel[g.kind]}</span> {g.message}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A frame's payload can be long: the story shows its start, the JSON link has all of it. */
const short = (m: string) => (m.length > 160 ? `${m.slice(0, 160)}…` : m);

const keyOf = (e: TimelineEntry) => `${e.time}|${e.service}|${e.message}`;
