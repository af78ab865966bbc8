import { describeIssues } from '../core/errors.ts';
import type { Translated, Translation } from './everest-translate.ts';
import { translateCall16 } from './ocpp-calls-16.ts';
import { translateCall201 } from './ocpp-calls-201.ts';
import { bad, callSchema, errorSchema, resultSchema, text, validate } from './ocpp-frames.ts';
import { type OcppVersion, ocppSchema } from './ocpp-schemas.ts';
import { type CallTranslation, type ChargePointState, MAX_PENDING, type Pending } from './ocpp-state.ts';

/**
 * OCPP-J frames (OCPP 1.6J and 2.0.1, JSON over WebSocket: [2,id,action,payload] CALL,
 * [3,id,payload] CALLRESULT, [4,id,errorCode,errorDescription,errorDetails] CALLERROR) ->
 * log lines on the OCPP service, events for faults and abnormal stops, and a correlation id per
 * charging session. Stateful (open calls, open transactions, heartbeat interval) with bounds;
 * time comes from the caller, so a replayed log gives the same answer as live traffic.
 */

export type Direction = 'cp->csms' | 'csms->cp';
export interface OcppFrameInput {
  chargePointId: string;
  frame: unknown;
  /** Epoch ms: the log's or the envelope's time, else arrival. */
  at: number;
  /** Epoch ms of arrival (default `at`): the periodic sweep measures waits on this clock. */
  receivedAt?: number;
  direction?: Direction;
}

const MAX_CHARGE_POINTS = 1000;

export interface OcppTracker {
  frame(input: OcppFrameInput): Translation;
  /** Calls that waited longer than the timeout since they arrived (wall clock), as warn lines (and forgotten). */
  sweep(now: number): Translated[];
  /** Calls forgotten because a charge point had too many open, and charge points evicted. */
  dropped(): number;
}

/** One frame being translated, with what it goes into. */
interface Frame {
  cp: string;
  s: ChargePointState;
  frame: unknown[];
  at: number;
  receivedAt: number;
  /** The direction as a prefix for the log line, or nothing. */
  dir: string;
  items: Translated[];
}

export function createOcppTracker(options: {
  service: () => string;
  responseTimeoutMs: number;
}): OcppTracker {
  const cps = new Map<string, ChargePointState>();
  let dropped = 0;

  const state = (cp: string): ChargePointState => {
    let s = cps.get(cp);
    if (!s) {
      s = {
        version: null,
        pending: new Map(),
        connector: new Map(),
        tx: new Map(),
        auth: new Map(),
        evse: new Map(),
        heartbeatS: null,
        lastAt: null,
      };
      cps.set(cp, s);
      if (cps.size > MAX_CHARGE_POINTS) {
        cps.delete(cps.keys().next().value as string);
        dropped++;
      }
    }
    return s;
  };

  const line = (
    cp: string,
    at: number,
    level: 'debug' | 'info' | 'warn' | 'error',
    message: string,
    correlationId: string | null,
    attributes: Record<string, unknown>,
  ): Translated => ({
    kind: 'log',
    input: {
      timestamp: at,
      service: options.service(),
      level,
      message,
      correlationId: correlationId ?? undefined,
      attributes: { chargePointId: cp, ...attributes },
    },
  });

  // Two clocks: frames sweep with their own (log or envelope) time, so a replay is deterministic; the
  // timer sweeps with arrival time, so frames stamped in the past are not declared unanswered at once.
  function sweepOne(
    cp: string,
    s: ChargePointState,
    now: number,
    out: Translated[],
    clock: 'at' | 'receivedAt',
  ) {
    for (const [id, p] of s.pending) {
      if (now - p[clock] < options.responseTimeoutMs) continue;
      s.pending.delete(id);
      out.push(
        line(
          cp,
          p.at + options.responseTimeoutMs,
          'warn',
          `OCPP no response to ${p.action} (${id}) within ${Math.round(options.responseTimeoutMs / 1000)} s`,
          p.correlationId,
          { messageId: id, action: p.action, ocppVersion: p.version, missingResponse: true },
        ),
      );
    }
  }

  /** A gap in the charge point's traffic longer than two heartbeat intervals: the link was down. */
  function heartbeatGap(cp: string, s: ChargePointState, at: number, items: Translated[]) {
    if (s.lastAt !== null && s.heartbeatS && at - s.lastAt > 2 * s.heartbeatS * 1000) {
      const gapS = Math.round((at - s.lastAt) / 1000);
      items.push(
        line(cp, at, 'warn', `OCPP no traffic for ${gapS} s (heartbeat interval ${s.heartbeatS} s)`, null, {
          gapS,
          heartbeatS: s.heartbeatS,
        }),
        {
          kind: 'event',
          input: {
            eventType: 'OCPP_GAP',
            service: options.service(),
            errorCode: 'HeartbeatGap',
            priority: 'low',
            timestamp: at,
            details: { chargePointId: cp, gapS: String(gapS), heartbeatS: String(s.heartbeatS) },
            message: `no OCPP traffic for ${gapS} s, more than twice the heartbeat interval`,
          },
        },
      );
    }
  }

  /** A CALL: validated, remembered until its answer, translated by version. */
  function onCall({ cp, s, frame, at, receivedAt, dir, items }: Frame): Translation {
    const r = callSchema.safeParse(frame);
    if (!r.success) return bad('CALL', r.error.issues);
    const [, id, action, body] = r.data;
    const v = validate(action, body, s.version);
    if (!v.ok) return { ok: false, reason: `invalid_ocpp: ${action}: ${v.problems.join('; ')}` };
    if (v.version) s.version = v.version;
    const t = translateCall(cp, s, id, action, body, v.version, at, options.service());
    s.pending.set(id, {
      action,
      version: v.version,
      at,
      receivedAt,
      correlationId: t.correlationId,
      payload: body,
    });
    if (s.pending.size > MAX_PENDING) {
      s.pending.delete(s.pending.keys().next().value as string);
      dropped++;
    }
    items.push(
      line(
        cp,
        at,
        action === 'Heartbeat' ? 'debug' : t.level,
        `OCPP ${dir}CALL ${action} ${text(body)}`,
        t.correlationId,
        {
          messageId: id,
          action,
          messageType: 'CALL',
          ocppVersion: v.version,
          ...(action === 'TransactionEvent' ? { transactionEvent: body.eventType } : {}),
        },
      ),
      ...t.events.map((input) => ({
        kind: 'event' as const,
        input: { ...input, id: `ocpp:${cp}:${id}${input.id ?? ''}` },
      })),
    );
    return { ok: true, items };
  }

  /** A CALLRESULT: the answer to a remembered call, validated against the call's Response schema. */
  function onResult({ cp, s, frame, at, dir, items }: Frame): Translation {
    const r = resultSchema.safeParse(frame);
    if (!r.success) return bad('CALLRESULT', r.error.issues);
    const [, id, body] = r.data;
    const call = s.pending.get(id);
    s.pending.delete(id);
    if (!call) {
      items.push(
        line(cp, at, 'info', `OCPP ${dir}CALLRESULT for an unknown call ${id} ${text(body)}`, null, {
          messageId: id,
          messageType: 'CALLRESULT',
        }),
      );
      return { ok: true, items };
    }
    const schema = call.version ? ocppSchema(call.version, `${call.action}Response`) : undefined;
    if (schema) {
      const p = schema.safeParse(body);
      if (!p.success)
        return {
          ok: false,
          reason: `invalid_ocpp: ${call.action}Response: ${describeIssues(p.error.issues).join('; ')}`,
        };
    }
    const t = translateResult(s, call, body);
    items.push(
      line(cp, at, t.level, `OCPP ${dir}CALLRESULT ${call.action} ${text(body)}${t.note}`, t.correlationId, {
        messageId: id,
        action: call.action,
        messageType: 'CALLRESULT',
        ocppVersion: call.version,
        responseMs: at - call.at,
      }),
    );
    return { ok: true, items };
  }

  function onError({ cp, s, frame, at, dir, items }: Frame): Translation {
    const r = errorSchema.safeParse(frame);
    if (!r.success) return bad('CALLERROR', r.error.issues);
    const [, id, code, description, details] = r.data;
    const call = s.pending.get(id);
    s.pending.delete(id);
    items.push(
      line(
        cp,
        at,
        'warn',
        `OCPP ${dir}CALLERROR ${code} for ${call?.action ?? `unknown call ${id}`}: ${description}${details && Object.keys(details).length ? ` ${text(details)}` : ''}`,
        call?.correlationId ?? null,
        { messageId: id, action: call?.action ?? null, messageType: 'CALLERROR', errorCode: code },
      ),
    );
    return { ok: true, items };
  }

  return {
    dropped: () => dropped,
    sweep(now) {
      const out: Translated[] = [];
      for (const [cp, s] of cps) sweepOne(cp, s, now, out, 'receivedAt');
      return out;
    },
    frame({ chargePointId: cp, frame, at, direction, receivedAt = at }) {
      if (!Array.isArray(frame))
        return { ok: false, reason: 'invalid_ocpp: expected an OCPP-J array [2|3|4, ...]' };
      const s = state(cp);
      const items: Translated[] = [];
      sweepOne(cp, s, at, items, 'at');
      heartbeatGap(cp, s, at, items);
      s.lastAt = Math.max(s.lastAt ?? at, at);
      const f = { cp, s, frame, at, receivedAt, dir: direction ? `${direction} ` : '', items };
      if (frame[0] === 2) return onCall(f);
      if (frame[0] === 3) return onResult(f);
      if (frame[0] === 4) return onError(f);
      return {
        ok: false,
        reason: 'invalid_ocpp: message type must be 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR)',
      };
    },
  };
}

/** A CALL, by the version its payload was validated against (no events for an unknown version). */
function translateCall(
  cp: string,
  s: ChargePointState,
  id: string,
  action: string,
  b: Record<string, unknown>,
  version: OcppVersion | null,
  at: number,
  service: string,
): CallTranslation {
  if (version === '1.6') return translateCall16(cp, s, id, action, b, at, service);
  if (version === '2.0.1') return translateCall201(cp, s, action, b, at, service);
  return { correlationId: null, level: 'info', events: [] };
}

function translateResult(
  s: ChargePointState,
  call: Pending,
  b: Record<string, unknown>,
): { correlationId: string | null; level: 'info' | 'warn'; note: string } {
  let level: 'info' | 'warn' = 'info';
  let note = '';
  const status = (v: unknown) =>
    v && typeof v === 'object' ? (v as { status?: unknown }).status : undefined;
  if (call.action === 'BootNotification' && typeof b.interval === 'number' && b.interval > 0)
    s.heartbeatS = b.interval;
  if (call.action === 'StartTransaction' && typeof b.transactionId === 'number' && call.correlationId) {
    s.tx.set(b.transactionId, call.correlationId);
    if (s.tx.size > MAX_PENDING) s.tx.delete(s.tx.keys().next().value as number);
  }
  const auth = status(b.idTagInfo) ?? status(b.idTokenInfo);
  if (auth !== undefined && auth !== 'Accepted') {
    level = 'warn';
    note = ` (authorization ${auth})`;
  }
  if (call.action === 'BootNotification' && b.status !== 'Accepted') {
    level = 'warn';
    note = ` (boot ${b.status})`;
  }
  return { correlationId: call.correlationId, level, note };
}
