import type { StreamRecord } from '../../../src/replay/stream.ts';
import type { Scenario } from './types.ts';

/**
 * A scenario as a replay stream with absolute times (the trigger at `eventTime`): map, label,
 * changes, logs, then the event. Changes and logs dated after the event are in the stream too:
 * they are distractors the analysis must leave out by their timestamps.
 */
export function scenarioRecords(s: Scenario, eventTime: number): StreamRecord[] {
  // Half the scenarios use ISO 8601 text, half epoch milliseconds: senders do both.
  const iso = s.index % 2 === 0;
  const time = (at: number) => (iso ? new Date(eventTime + at).toISOString() : eventTime + at);
  const records: StreamRecord[] = [{ type: 'map', line: 0, yaml: s.mapYaml }];
  records.push({
    type: 'label',
    line: 0,
    label: {
      correlationId: s.event.correlationId,
      rootService: s.label.rootService,
      faultClass: s.label.faultClass,
      changeId: s.label.changeId,
      scenario: s.id,
      template: s.template,
      title: s.title,
    },
  });
  for (const c of s.changes) {
    const { tag: _tag, at, sha: _sha, ...wire } = c;
    records.push({ type: 'change', line: 0, body: { ...wire, timestamp: time(at) } });
  }
  for (const l of s.logs) {
    const { tag: _tag, at, ...wire } = l;
    records.push({ type: 'log', line: 0, body: { ...wire, timestamp: time(at) } });
  }
  const e = s.event;
  const body: Record<string, unknown> = e.nested
    ? {
        eventType: e.eventType,
        correlationId: e.correlationId,
        timestamp: time(0),
        message: e.message,
        details: { ...e.details, service: e.service, errorCode: e.errorCode },
      }
    : {
        eventType: e.eventType,
        service: e.service,
        errorCode: e.errorCode,
        correlationId: e.correlationId,
        timestamp: time(0),
        message: e.message,
        details: e.details,
      };
  records.push({ type: 'event', line: 0, body });
  return records.map((r, i) => ({ ...r, line: i + 1 }));
}
