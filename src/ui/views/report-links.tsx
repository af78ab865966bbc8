/** @jsxImportSource hono/jsx */
import type { MapSuggestion, RelatedReport } from '../../core/report.ts';
import { dayClock } from './report-message.tsx';

/** Earlier diagnoses a report cites (a cascade), each a link to its thread. */
export function RelatedReports(props: { related: RelatedReport[] }) {
  if (!props.related.length) return null;
  return (
    <section aria-labelledby="h-rel">
      <h2 id="h-rel">Related reports</h2>
      <p class="muted">Earlier diagnoses this report cites as evidence (a cascade).</p>
      <ul class="related">
        {props.related.map((x) => (
          <li>
            <a href={`/chat/r/${encodeURIComponent(x.reportId)}`}>
              {x.eventType} on {x.service}
            </a>{' '}
            → root <b>{x.rootService}</b>{' '}
            <time datetime={x.createdAt}>{dayClock(Date.parse(x.createdAt))}</time>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** "The map may be missing: A depends_on B", with an "Add to map" button for engineers and admins. */
export function MapSuggestions(props: {
  reportId: string;
  suggestions: Array<MapSuggestion & { inMap: boolean }>;
  canAct: boolean;
  csrf: string;
}) {
  if (!props.suggestions.length) return null;
  return (
    <section aria-labelledby="h-map">
      <h2 id="h-map">The map may be missing</h2>
      <ul class="map-suggestions">
        {props.suggestions.map((m) => (
          <li>
            <code>
              {m.service} depends_on {m.dependsOn}
            </code>{' '}
            <span class="reason">{m.reason}</span>{' '}
            {m.inMap ? (
              <span class="muted">(in the map)</span>
            ) : props.canAct ? (
              <form
                method="post"
                action={`/chat/r/${encodeURIComponent(props.reportId)}/map-suggestion`}
                class="inline"
              >
                <input type="hidden" name="_csrf" value={props.csrf} />
                <input type="hidden" name="service" value={m.service} />
                <input type="hidden" name="dependsOn" value={m.dependsOn} />
                <button type="submit">Add to map</button>
              </form>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
