import type { Report } from '../core/report.ts';
import { parseSystemMap } from '../map/system-map.ts';
import type { FeedClient } from './client.ts';
import type { Label, StreamRecord } from './stream.ts';

/** What happened to one trigger event of the stream. */
export interface TriggerResult {
  /** Line of the event in the stream. */
  line: number;
  eventId: string;
  eventType: string;
  service: string;
  errorCode: string;
  correlationId: string | null;
  /** The first report for the event; null when none arrived in time. */
  report: Report | null;
  /** Wall time from sending the event to seeing its report (ms). */
  wallMs: number;
  /** The stream's expected answer for this trigger, if it has one. */
  label: Label | null;
}

export interface ReplayCounts {
  maps: number;
  changes: number;
  logs: number;
  events: number;
  triggers: number;
}

export interface ReplayOptions {
  /** How long to wait for each trigger's report. */
  reportTimeoutMs?: number;
  /** Called after each trigger's report arrived (or timed out). */
  onTrigger?: (result: TriggerResult) => void;
}

/**
 * Feeds records to a service in stream order: logs and changes are batched and flushed before the
 * next map or event, so an event always finds its evidence stored; after a trigger event it waits
 * for the report before going on, so each analysis sees exactly the stream up to its event.
 */
export async function replayRecords(
  records: StreamRecord[],
  client: FeedClient,
  options: ReplayOptions = {},
): Promise<{ results: TriggerResult[]; counts: ReplayCounts }> {
  const timeoutMs = options.reportTimeoutMs ?? 10_000;
  const counts: ReplayCounts = { maps: 0, changes: 0, logs: 0, events: 0, triggers: 0 };
  const results: TriggerResult[] = [];
  const labels = new Map<string, Label>();
  for (const r of records) if (r.type === 'label') labels.set(r.label.correlationId, r.label);

  let triggers: Set<string> | null = null;
  let logs: Array<Record<string, unknown>> = [];
  let changes: Array<Record<string, unknown>> = [];
  const flush = async () => {
    // Changes first: a log batch never depends on them, but an event may depend on both.
    if (changes.length) await client.postChanges(changes);
    if (logs.length) await client.postLogs(logs);
    counts.changes += changes.length;
    counts.logs += logs.length;
    changes = [];
    logs = [];
  };

  for (const r of records) {
    switch (r.type) {
      case 'label':
        break;
      case 'log':
        logs.push(r.body);
        break;
      case 'change':
        changes.push(r.body);
        break;
      case 'map': {
        await flush();
        await client.putMap(r.yaml);
        const parsed = parseSystemMap(r.yaml);
        triggers = parsed.ok ? new Set(parsed.graph.triggers) : null;
        counts.maps++;
        break;
      }
      case 'event': {
        await flush();
        triggers ??= new Set(await client.triggers());
        const result = await feedEvent(r.line, r.body, triggers, { client, counts, labels, timeoutMs });
        if (result) {
          results.push(result);
          options.onTrigger?.(result);
        }
        break;
      }
    }
  }
  await flush();
  return { results, counts };
}

/**
 * Posts one event and counts it; for a trigger (high priority, or a trigger type of the map without
 * a priority) that is not a duplicate, waits for its report: what the trigger gave, null otherwise.
 */
async function feedEvent(
  line: number,
  body: Record<string, unknown>,
  triggers: Set<string>,
  feed: { client: FeedClient; counts: ReplayCounts; labels: Map<string, Label>; timeoutMs: number },
): Promise<TriggerResult | null> {
  const { client, counts } = feed;
  const e = eventFields(body);
  const isTrigger = e.priority === 'high' || (e.priority === undefined && triggers.has(e.eventType));
  const started = performance.now();
  const { eventId, duplicate } = await client.postEvent(body);
  counts.events++;
  if (!isTrigger || duplicate) return null;
  counts.triggers++;
  const report = await client.waitForReport({
    eventId,
    correlationId: e.correlationId,
    timeoutMs: feed.timeoutMs,
  });
  return {
    line,
    eventId,
    eventType: e.eventType,
    service: e.service,
    errorCode: e.errorCode,
    correlationId: e.correlationId,
    report,
    wallMs: performance.now() - started,
    label: e.correlationId ? (feed.labels.get(e.correlationId) ?? null) : null,
  };
}

/** The event fields replay needs, from the flat or the nested DebugQueue form. */
function eventFields(body: Record<string, unknown>) {
  const details = (body.details ?? {}) as Record<string, unknown>;
  const str = (v: unknown) =>
    typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v);
  return {
    eventType: str(body.eventType) ?? '',
    service: str(body.service) ?? str(details.service) ?? '',
    errorCode: str(body.errorCode) ?? str(details.errorCode) ?? '',
    correlationId: str(body.correlationId) ?? null,
    priority: str(body.priority),
  };
}
