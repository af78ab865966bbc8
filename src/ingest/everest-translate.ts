import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import type { DebugEventInput } from '../core/event.ts';
import type { LogLineInput } from '../core/log-line.ts';

/**
 * EVerest's own MQTT messages -> DebugQueue events and log lines (errors here, session events in
 * everest-sessions.ts). Pure: the receiver (everest.ts)
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

/** An EVerest id (module, uuid, type). */
export const idSchema = z.string().trim().min(1).max(200);
const text = z.string().max(8192);

/** Error object as serialised by error_json.hpp (origin.mapping) or as MQTTCommunication.md documents it (origin.evse). */
const errorSchema = z.object({
  type: idSchema,
  sub_type: z.string().max(200).optional(),
  message: text.optional(),
  description: text.optional(),
  severity: z.enum(['High', 'Medium', 'Low']).optional(),
  origin: z
    .object({
      module_id: idSchema,
      implementation_id: z.string().max(200).optional(),
      evse: z.number().int().optional(),
      connector: z.number().int().optional(),
      mapping: z.object({ evse: z.number().int(), connector: z.number().int().optional() }).optional(),
    })
    .optional(),
  state: z.enum(['Active', 'ClearedByModule', 'ClearedByReboot']).optional(),
  timestamp: z.string().max(64).optional(),
  uuid: idSchema.optional(),
  vendor_id: z.string().max(200).optional(),
});

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

/** The event's details: where the error came from and what EVerest says of it. */
function errorDetails(
  e: z.infer<typeof errorSchema>,
  moduleId: string,
  topicImpl: string | undefined,
): Record<string, string> {
  const evse = e.origin?.mapping?.evse ?? e.origin?.evse;
  const connector = e.origin?.mapping?.connector ?? e.origin?.connector;
  const details: Record<string, string> = { everestModule: moduleId };
  const impl = e.origin?.implementation_id ?? topicImpl;
  if (impl) details.implementation = impl;
  if (e.severity) details.severity = e.severity;
  if (e.sub_type) details.subType = e.sub_type;
  if (e.vendor_id) details.vendorId = e.vendor_id;
  if (e.uuid) details.errorId = e.uuid;
  if (evse !== undefined) details.evse = String(evse);
  if (connector !== undefined) details.connector = String(connector);
  return details;
}

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
  const details = errorDetails(e, moduleId, opts.topicImpl);
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
