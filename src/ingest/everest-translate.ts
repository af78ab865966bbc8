import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import type { DebugEventInput } from '../core/event.ts';
import type { LogLineInput } from '../core/log-line.ts';

/**
 * EVerest's own MQTT messages -> DebugQueue events and log lines. Pure: the receiver (everest.ts)
 * passes the topic, the parsed JSON and a small amount of state it keeps between messages.
 * Wire formats are those of EVerest/everest-core@23c9dac1682618ce1b7cb624903ca8f57af66b6c
 * (lib/everest/framework/lib/everest.cpp publish_raised_error, lib/types.cpp MqttMessagePayload,
 * include/utils/error/error_json.hpp, types/evse_manager.yaml, modules/API/API/API.cpp,
 * docs/source/reference/EVerest_API/*.yaml); docs/everest.md lists them.
 */

export type Translated = { kind: 'event'; input: DebugEventInput } | { kind: 'log'; input: LogLineInput };
export type Translation = { ok: true; items: Translated[] } | { ok: false; reason: string };

export interface EverestContext {
  /** The map's service for an EVerest module id (name, alias or `module:`); the id itself when unknown. */
  service(moduleId: string): string;
  /** Whether an error type (`evse_board_support/MREC14PilotFault`) starts an analysis. */
  isTrigger(errorType: string): boolean;
  /** The open session of the EvseManager a service belongs to (itself or a direct dependency). */
  sessionFor(service: string): string | null;
  /** Called with session starts and ends so later errors correlate to the session. */
  noteSession(service: string, sessionId: string | null): void;
}

const id = z.string().trim().min(1).max(200);
const text = z.string().max(8192);

/** Error object as serialised by error_json.hpp (origin.mapping) or as MQTTCommunication.md documents it (origin.evse). */
const errorSchema = z.object({
  type: id,
  sub_type: z.string().max(200).optional(),
  message: text.optional(),
  description: text.optional(),
  severity: z.enum(['High', 'Medium', 'Low']).optional(),
  origin: z
    .object({
      module_id: id,
      implementation_id: z.string().max(200).optional(),
      evse: z.number().int().optional(),
      connector: z.number().int().optional(),
      mapping: z.object({ evse: z.number().int(), connector: z.number().int().optional() }).optional(),
    })
    .optional(),
  state: z.enum(['Active', 'ClearedByModule', 'ClearedByReboot']).optional(),
  timestamp: z.string().max(64).optional(),
  uuid: id.optional(),
  vendor_id: z.string().max(200).optional(),
});

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

/**
 * Error names (errors/*.yaml) that start an analysis unless the map says otherwise: every MREC
 * (ChargeX minimum required error codes) except the derate warning, and the hardware/communication
 * faults that stop charging. VendorWarning, derates and the like stay context.
 */
const defaultTriggerNames = new Set([
  'CommunicationFault',
  'HardwareFault',
  'DeviceFault',
  'Internal',
  'Inoperative',
  'PermanentFault',
  'VendorError',
  'PowermeterTransactionStartFailed',
  'VoltagePlausibilityFault',
  'DiodeFault',
  'BrownOut',
  'ConnectorLockFailedLock',
  'ConnectorLockFailedUnlock',
  'ConnectorLockUnexpectedOpen',
  'OverTemperature',
  'OverVoltageDC',
  'OverCurrentDC',
  'UnderVoltageDC',
  'OverVoltageAC',
  'OverCurrentAC',
  'UnderVoltageAC',
  'Selftest',
  'DC',
  'AC',
]);

/** The documented default: is this EVerest error type a trigger? */
export function isDefaultTriggerError(type: string): boolean {
  const name = type.slice(type.lastIndexOf('/') + 1);
  if (name.startsWith('MREC')) return name !== 'MREC18CableOverTempDerate';
  return defaultTriggerNames.has(name);
}

/** Event type of every EVerest error event; the error type is the errorCode. */
export const EVEREST_ERROR = 'EVEREST_ERROR';

/** Translates one raised or cleared error. `topicModule` names the publisher when origin is missing. */
export function translateError(
  raw: unknown,
  opts: { topicModule: string; topicImpl?: string; cleared?: boolean; ctx: EverestContext },
): Translation {
  const r = errorSchema.safeParse(raw);
  if (!r.success) return { ok: false, reason: `invalid_error: ${describeIssues(r.error.issues).join('; ')}` };
  const e = r.data;
  const moduleId = e.origin?.module_id ?? opts.topicModule;
  const service = opts.ctx.service(moduleId);
  const cleared = opts.cleared ?? (e.state === 'ClearedByModule' || e.state === 'ClearedByReboot');
  const evse = e.origin?.mapping?.evse ?? e.origin?.evse;
  const connector = e.origin?.mapping?.connector ?? e.origin?.connector;
  const details: Record<string, string> = { everestModule: moduleId };
  const impl = e.origin?.implementation_id ?? opts.topicImpl;
  if (impl) details.implementation = impl;
  if (e.severity) details.severity = e.severity;
  if (e.sub_type) details.subType = e.sub_type;
  if (e.vendor_id) details.vendorId = e.vendor_id;
  if (e.uuid) details.errorId = e.uuid;
  if (evse !== undefined) details.evse = String(evse);
  if (connector !== undefined) details.connector = String(connector);
  const correlationId = opts.ctx.sessionFor(service) ?? undefined;
  const timestamp = e.timestamp || undefined;
  const what = `${e.type}${e.sub_type ? ` (${e.sub_type})` : ''}${e.message ? `: ${e.message}` : ''}`;
  const attributes = {
    ...details,
    errorType: e.type,
    state: cleared ? (e.state ?? 'ClearedByModule') : 'Active',
  };
  if (cleared) {
    return {
      ok: true,
      items: [
        {
          kind: 'log',
          input: {
            timestamp,
            service,
            level: 'info',
            message: `EVerest error cleared (${attributes.state}): ${what}`,
            correlationId,
            attributes,
          },
        },
      ],
    };
  }
  return {
    ok: true,
    items: [
      {
        kind: 'event',
        input: {
          // The error's uuid makes a redelivered or republished raise idempotent.
          id: e.uuid ? `everest:${e.uuid}` : undefined,
          eventType: EVEREST_ERROR,
          service,
          errorCode: e.type,
          correlationId,
          details,
          priority: opts.ctx.isTrigger(e.type) ? 'high' : 'low',
          timestamp,
          message: e.message || e.description || undefined,
        },
      },
      {
        kind: 'log',
        input: {
          timestamp,
          service,
          level: e.severity === 'High' || !e.severity ? 'error' : 'warn',
          message: `EVerest error raised: ${what}`,
          correlationId,
          attributes,
        },
      },
    ],
  };
}

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
  if (abnormalEnd || s.event === 'PluginTimeout') {
    const details: Record<string, string> = {
      sessionId: s.uuid,
      everestModule: opts.module,
      sessionEvent: s.event,
    };
    if (s.connector_id !== undefined) details.connector = String(s.connector_id);
    items.push({
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
    });
  }
  return { ok: true, items };
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

/**
 * The framework wraps what it publishes as {msg_type, data} (lib/types.cpp); MQTTCommunication.md
 * documents the inner object. Both are accepted: returns the inner object and the message type.
 */
export function unwrap(json: unknown): { msgType: string | null; data: unknown } {
  if (json && typeof json === 'object' && !Array.isArray(json) && 'msg_type' in json && 'data' in json) {
    const o = json as { msg_type: unknown; data: unknown };
    return { msgType: typeof o.msg_type === 'string' ? o.msg_type : null, data: o.data };
  }
  return { msgType: null, data: json };
}
