import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import {
  type EverestContext,
  idSchema as id,
  type Translated,
  type Translation,
} from './everest-translate.ts';

/**
 * EvseManager session events and the API module's session_info -> log lines on the session, and a
 * SESSION_DROP for an abnormal end (formats as in everest-translate.ts).
 */

/** types/evse_manager.yaml SessionEvent (only the fields used; the rest is ignored). */
const sessionEventSchema = z.object({
  uuid: id,
  event: id,
  timestamp: z.string().max(64).optional(),
  connector_id: z.number().int().optional(),
  session_started: z.object({ reason: z.string().max(100).optional() }).optional(),
  transaction_finished: z.object({ reason: z.string().max(100).optional() }).optional(),
  charging_paused_evse: z.object({ reasons: z.array(z.string().max(100)).max(10) }).optional(),
});
type SessionEvent = z.infer<typeof sessionEventSchema>;

/**
 * StopTransactionReason values (types/evse_manager.yaml) that are a normal end of a charge:
 * the user, the CSMS, the EV or a configured limit ended it. Every other reason is abnormal.
 */
export const normalStopReasons: ReadonlySet<string> = new Set([
  'Local',
  'Remote',
  'EVDisconnected',
  'StoppedByEV',
  'EnergyLimitReached',
  'SOCLimitReached',
  'TimeLimitReached',
  'LocalOutOfCredit',
  'MasterPass',
]);

/** Translates one EvseManager session_event (the SessionEvent object itself). */
export function translateSessionEvent(
  raw: unknown,
  opts: { module: string; ctx: EverestContext },
): Translation {
  const r = sessionEventSchema.safeParse(raw);
  if (!r.success)
    return { ok: false, reason: `invalid_session_event: ${describeIssues(r.error.issues).join('; ')}` };
  const s = r.data;
  const service = opts.ctx.service(opts.module);
  const reason = s.transaction_finished?.reason;
  const abnormalEnd =
    s.event === 'TransactionFinished' && reason !== undefined && !normalStopReasons.has(reason);
  const pausedByError = s.event === 'ChargingPausedEVSE' && s.charging_paused_evse?.reasons.includes('Error');
  if (s.event === 'SessionStarted') opts.ctx.noteSession(service, s.uuid);
  if (s.event === 'SessionFinished') opts.ctx.noteSession(service, null);
  const detailText = sessionDetail(s);
  const attributes: Record<string, unknown> = {
    sessionEvent: s.event,
    sessionId: s.uuid,
    everestModule: opts.module,
  };
  if (s.connector_id !== undefined) attributes.connector = s.connector_id;
  if (reason) attributes.stopReason = reason;
  const items: Translated[] = [
    {
      kind: 'log',
      input: {
        timestamp: s.timestamp || undefined,
        service,
        level: abnormalEnd || pausedByError || s.event === 'PluginTimeout' ? 'warn' : 'info',
        message: `EvseManager session event ${s.event}${detailText}`,
        correlationId: s.uuid,
        attributes,
      },
    },
  ];
  if (abnormalEnd || s.event === 'PluginTimeout')
    items.push(sessionDrop(s, service, opts.module, abnormalEnd));
  return { ok: true, items };
}

/** The SESSION_DROP of an abnormal TransactionFinished (a report) or of a PluginTimeout (context only). */
function sessionDrop(s: SessionEvent, service: string, module: string, abnormalEnd: boolean): Translated {
  const reason = s.transaction_finished?.reason;
  const details: Record<string, string> = {
    sessionId: s.uuid,
    everestModule: module,
    sessionEvent: s.event,
  };
  if (s.connector_id !== undefined) details.connector = String(s.connector_id);
  return {
    kind: 'event',
    input: {
      id: `everest:${s.uuid}:${s.event}`,
      eventType: 'SESSION_DROP',
      service,
      errorCode: abnormalEnd ? (reason as string) : 'PluginTimeout',
      correlationId: s.uuid,
      details,
      // A plug-in timeout is usually the user (no card presented): context, not a report.
      priority: abnormalEnd ? 'high' : 'low',
      timestamp: s.timestamp || undefined,
      message: abnormalEnd
        ? `transaction finished with stop reason ${reason}`
        : 'EV plugged in but no authorization within the connection timeout',
    },
  };
}

function sessionDetail(s: SessionEvent): string {
  const parts: string[] = [];
  if (s.transaction_finished?.reason) parts.push(`reason ${s.transaction_finished.reason}`);
  if (s.session_started?.reason) parts.push(`reason ${s.session_started.reason}`);
  if (s.charging_paused_evse?.reasons.length)
    parts.push(`reasons ${s.charging_paused_evse.reasons.join(',')}`);
  if (s.connector_id !== undefined) parts.push(`connector ${s.connector_id}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** API module's session_info (modules/API/API/API.cpp SessionInfo::operator std::string). */
const sessionInfoSchema = z.object({
  state: z.string().min(1).max(100),
  permanent_fault: z.boolean().optional(),
  charged_energy_wh: z.number().optional(),
  charging_duration_s: z.number().optional(),
  datetime: z.string().max(64).optional(),
});

/** A session_info snapshot: a log line only when the state or the fault flag changed since `previous`. */
export function translateSessionInfo(
  raw: unknown,
  opts: { evse: string; previous: string | undefined; ctx: EverestContext },
): Translation & { key?: string } {
  const r = sessionInfoSchema.safeParse(raw);
  if (!r.success)
    return { ok: false, reason: `invalid_session_info: ${describeIssues(r.error.issues).join('; ')}` };
  const s = r.data;
  const key = `${s.state}|${s.permanent_fault ?? false}`;
  if (key === opts.previous) return { ok: true, items: [], key };
  const service = opts.ctx.service(opts.evse);
  return {
    ok: true,
    key,
    items: [
      {
        kind: 'log',
        input: {
          timestamp: s.datetime || undefined,
          service,
          level: s.permanent_fault || s.state === 'AuthTimeout' ? 'warn' : 'info',
          message: `everest_api session_info state ${s.state}${s.permanent_fault ? ' (permanent fault)' : ''}`,
          correlationId: opts.ctx.sessionFor(service) ?? undefined,
          attributes: { ...s, everestModule: opts.evse },
        },
      },
    ],
  };
}
