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

/**
 * An OCPP 1.6 CALL: the session it belongs to (connector, transaction and idTag maps) and the
 * events it means (a connector error, an abnormal StopTransaction).
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
  const events: EventInput[] = [];
  const event = (e: Omit<EventInput, 'service'>) => events.push({ service, ...e });
  let correlationId: string | null = null;
  let level: 'info' | 'warn' = 'info';
  const ts = str(b.timestamp) ?? at;

  switch (action) {
    case 'Authorize': {
      // Plugged in first: the one connector preparing without a transaction is this session.
      const txSessions = new Set(s.tx.values());
      const waiting = [...s.connector.values()].filter((c) => !txSessions.has(c));
      correlationId = waiting.length === 1 ? (waiting[0] as string) : `${cp}:${id}`;
      s.auth.set(String(b.idTag), { correlationId, at });
      if (s.auth.size > MAX_PENDING) s.auth.delete(s.auth.keys().next().value as string);
      break;
    }
    case 'StartTransaction': {
      const auth = s.auth.get(String(b.idTag));
      correlationId =
        s.connector.get(Number(b.connectorId)) ??
        (auth && at - auth.at < AUTH_TO_START_MS ? auth.correlationId : `${cp}:${id}`);
      s.auth.delete(String(b.idTag));
      s.connector.set(Number(b.connectorId), correlationId);
      break;
    }
    case 'MeterValues':
      correlationId =
        (num(b.transactionId) !== undefined ? s.tx.get(num(b.transactionId) as number) : undefined) ??
        s.connector.get(Number(b.connectorId)) ??
        null;
      break;
    case 'StatusNotification': {
      const connectorId = Number(b.connectorId);
      correlationId = s.connector.get(connectorId) ?? null;
      if (!correlationId && b.status === 'Preparing') {
        // A plug-in opens the session, or joins the one a recent Authorize opened.
        const recent = [...s.auth.values()].filter((a) => at - a.at < AUTH_TO_START_MS).at(-1);
        correlationId = recent?.correlationId ?? `${cp}:${id}`;
        s.connector.set(connectorId, correlationId);
      }
      if (b.status === 'Available') s.connector.delete(connectorId);
      if (b.errorCode !== 'NoError') {
        level = 'warn';
        const details: Record<string, string> = {
          chargePointId: cp,
          connectorId: String(connectorId),
          status: String(b.status),
        };
        for (const k of ['vendorErrorCode', 'vendorId', 'info'] as const)
          if (str(b[k])) details[k] = str(b[k]) as string;
        event({
          eventType: 'OCPP_STATUS_ERROR',
          errorCode: String(b.errorCode),
          correlationId: correlationId ?? undefined,
          priority: b.status === 'Faulted' ? 'high' : 'low',
          timestamp: ts,
          details,
          message: `connector ${connectorId} ${b.status}: ${b.errorCode}${details.vendorErrorCode ? ` (${details.vendorErrorCode})` : ''}${details.info ? ` ${details.info}` : ''}`,
        });
      }
      break;
    }
    case 'StopTransaction': {
      const txId = Number(b.transactionId);
      correlationId = s.tx.get(txId) ?? `${cp}:tx${txId}`;
      s.tx.delete(txId);
      for (const [c, corr] of s.connector) if (corr === correlationId) s.connector.delete(c);
      const reason = str(b.reason) ?? 'Local';
      if (!normal16.has(reason)) {
        level = 'warn';
        event({
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
        });
      }
      break;
    }
  }
  return { correlationId, level, events };
}
