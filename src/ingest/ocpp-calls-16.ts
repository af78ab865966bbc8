import {
  AUTH_TO_START_MS,
  type CallTranslation,
  type ChargePointState,
  type EventInput,
  MAX_PENDING,
  num,
  str,
} from './ocpp-state.ts';

/** 1.6 StopTransaction reasons that end a charge normally (absent means Local, OCPP 1.6 §6.49). */
const normal16 = new Set(['Local', 'Remote', 'EVDisconnected']);

/** One CALL as a handler sees it; `ts` is the payload's timestamp, or the receive time without one. */
interface Call16 {
  cp: string;
  s: ChargePointState;
  /** The CALL's message id: a session the CALL opens is named after it. */
  id: string;
  b: Record<string, unknown>;
  at: number;
  ts: string | number;
}
type Meaning = { correlationId: string | null; events: Omit<EventInput, 'service'>[] };

/** Plugged in first: the one connector preparing without a transaction is this session. */
function authorize({ cp, s, id, b, at }: Call16): Meaning {
  const txSessions = new Set(s.tx.values());
  const waiting = [...s.connector.values()].filter((c) => !txSessions.has(c));
  const correlationId = waiting.length === 1 ? (waiting[0] as string) : `${cp}:${id}`;
  s.auth.set(String(b.idTag), { correlationId, at });
  if (s.auth.size > MAX_PENDING) s.auth.delete(s.auth.keys().next().value as string);
  return { correlationId, events: [] };
}

function startTransaction({ cp, s, id, b, at }: Call16): Meaning {
  const auth = s.auth.get(String(b.idTag));
  const correlationId =
    s.connector.get(Number(b.connectorId)) ??
    (auth && at - auth.at < AUTH_TO_START_MS ? auth.correlationId : `${cp}:${id}`);
  s.auth.delete(String(b.idTag));
  s.connector.set(Number(b.connectorId), correlationId);
  return { correlationId, events: [] };
}

function meterValues({ s, b }: Call16): Meaning {
  const txId = num(b.transactionId);
  const correlationId =
    (txId !== undefined ? s.tx.get(txId) : undefined) ?? s.connector.get(Number(b.connectorId)) ?? null;
  return { correlationId, events: [] };
}

/** Preparing opens the connector's session, Available closes it; any errorCode but NoError is an event. */
function statusNotification({ cp, s, id, b, at, ts }: Call16): Meaning {
  const connectorId = Number(b.connectorId);
  let correlationId = s.connector.get(connectorId) ?? null;
  if (!correlationId && b.status === 'Preparing') {
    // A plug-in opens the session, or joins the one a recent Authorize opened.
    const recent = [...s.auth.values()].filter((a) => at - a.at < AUTH_TO_START_MS).at(-1);
    correlationId = recent?.correlationId ?? `${cp}:${id}`;
    s.connector.set(connectorId, correlationId);
  }
  if (b.status === 'Available') s.connector.delete(connectorId);
  if (b.errorCode === 'NoError') return { correlationId, events: [] };
  const details: Record<string, string> = {
    chargePointId: cp,
    connectorId: String(connectorId),
    status: String(b.status),
  };
  for (const k of ['vendorErrorCode', 'vendorId', 'info'] as const)
    if (str(b[k])) details[k] = str(b[k]) as string;
  return {
    correlationId,
    events: [
      {
        eventType: 'OCPP_STATUS_ERROR',
        errorCode: String(b.errorCode),
        correlationId: correlationId ?? undefined,
        priority: b.status === 'Faulted' ? 'high' : 'low',
        timestamp: ts,
        details,
        message: `connector ${connectorId} ${b.status}: ${b.errorCode}${details.vendorErrorCode ? ` (${details.vendorErrorCode})` : ''}${details.info ? ` ${details.info}` : ''}`,
      },
    ],
  };
}

/** Closes the transaction and its connector's session; a stop for an abnormal reason is a drop. */
function stopTransaction({ cp, s, b, ts }: Call16): Meaning {
  const txId = Number(b.transactionId);
  const correlationId = s.tx.get(txId) ?? `${cp}:tx${txId}`;
  s.tx.delete(txId);
  for (const [c, corr] of s.connector) if (corr === correlationId) s.connector.delete(c);
  const reason = str(b.reason) ?? 'Local';
  if (normal16.has(reason)) return { correlationId, events: [] };
  return {
    correlationId,
    events: [
      {
        eventType: 'SESSION_DROP',
        errorCode: reason,
        correlationId,
        priority: 'high',
        timestamp: ts,
        details: {
          chargePointId: cp,
          transactionId: String(txId),
          stopReason: reason,
          ocppVersion: '1.6',
        },
        message: `StopTransaction ${txId} with reason ${reason}`,
      },
    ],
  };
}

/** What each 1.6 action means; an action not here belongs to no session and means nothing. */
const calls16 = new Map<string, (call: Call16) => Meaning>([
  ['Authorize', authorize],
  ['StartTransaction', startTransaction],
  ['MeterValues', meterValues],
  ['StatusNotification', statusNotification],
  ['StopTransaction', stopTransaction],
]);

/**
 * An OCPP 1.6 CALL: the session it belongs to (connector, transaction and idTag maps) and the
 * events it means (a connector error, an abnormal StopTransaction). A CALL is logged at warn
 * exactly when it means an event.
 */
export function translateCall16(
  cp: string,
  s: ChargePointState,
  id: string,
  action: string,
  b: Record<string, unknown>,
  at: number,
  service: string,
): CallTranslation {
  const handle = calls16.get(action);
  if (!handle) return { correlationId: null, level: 'info', events: [] };
  const { correlationId, events } = handle({ cp, s, id, b, at, ts: str(b.timestamp) ?? at });
  return {
    correlationId,
    level: events.length > 0 ? 'warn' : 'info',
    events: events.map((e) => ({ service, ...e })),
  };
}
