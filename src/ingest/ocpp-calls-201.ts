import { type CallTranslation, type ChargePointState, type EventInput, num, obj, str } from './ocpp-state.ts';

/** 2.0.1 ReasonEnumType values that end a charge normally (absent means Local). */
const normal201 = new Set([
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

/** One CALL as a handler sees it; `ts` is the payload's timestamp, or the receive time without one. */
interface Call201 {
  cp: string;
  s: ChargePointState;
  b: Record<string, unknown>;
  ts: string | number;
}
type Meaning = { correlationId: string | null; events: Omit<EventInput, 'service'>[] };

/** The open transaction when the charge point has exactly one (a CALL that names no EVSE). */
const openTx = (s: ChargePointState) => (s.evse.size === 1 ? ([...s.evse.values()][0] as string) : null);

/** Started opens the EVSE's transaction, Ended closes it; an Ended for an abnormal reason is a drop. */
function transactionEvent({ cp, s, b, ts }: Call201): Meaning {
  const info = obj(b.transactionInfo);
  const txId = String(info.transactionId);
  const evseId = num(obj(b.evse).id);
  if (b.eventType === 'Started' && evseId !== undefined) s.evse.set(evseId, txId);
  if (b.eventType !== 'Ended') return { correlationId: txId, events: [] };
  for (const [e, t] of s.evse) if (t === txId) s.evse.delete(e);
  const reason = str(info.stoppedReason) ?? 'Local';
  if (normal201.has(reason)) return { correlationId: txId, events: [] };
  return {
    correlationId: txId,
    events: [
      {
        eventType: 'SESSION_DROP',
        errorCode: reason,
        correlationId: txId,
        priority: 'high',
        timestamp: ts,
        details: {
          chargePointId: cp,
          transactionId: txId,
          stopReason: reason,
          triggerReason: String(b.triggerReason),
          ocppVersion: '2.0.1',
        },
        message: `TransactionEvent Ended ${txId}: stoppedReason ${reason}, triggerReason ${b.triggerReason}`,
      },
    ],
  };
}

function statusNotification({ cp, s, b, ts }: Call201): Meaning {
  const evseId = Number(b.evseId);
  const correlationId = s.evse.get(evseId) ?? null;
  if (b.connectorStatus !== 'Faulted') return { correlationId, events: [] };
  return {
    correlationId,
    events: [
      {
        eventType: 'OCPP_STATUS_ERROR',
        errorCode: 'Faulted',
        correlationId: correlationId ?? undefined,
        priority: 'high',
        timestamp: ts,
        details: {
          chargePointId: cp,
          evseId: String(evseId),
          connectorId: String(b.connectorId),
          status: 'Faulted',
        },
        message: `EVSE ${evseId} connector ${b.connectorId} Faulted`,
      },
    ],
  };
}

/**
 * Each reported problem (a techCode not cleared) is an event, in the session of its component's
 * EVSE; a report without an EVSE joins the session of the one before it, or the one open transaction.
 */
function notifyEvent({ cp, s, b, ts }: Call201): Meaning {
  const data = Array.isArray(b.eventData) ? b.eventData : [];
  let correlationId: string | null = null;
  const events: Meaning['events'] = [];
  data.forEach((raw, i) => {
    const d = obj(raw);
    const techCode = str(d.techCode);
    const component = obj(d.component);
    const evseId = num(obj(component.evse).id);
    const corr = (evseId !== undefined ? s.evse.get(evseId) : undefined) ?? correlationId ?? openTx(s);
    correlationId = corr;
    if (!techCode || d.cleared === true) return;
    const details: Record<string, string> = {
      chargePointId: cp,
      component: String(component.name),
      variable: String(obj(d.variable).name),
      trigger: String(d.trigger),
      actualValue: String(d.actualValue),
      eventId: String(d.eventId),
    };
    if (str(d.techInfo)) details.techInfo = str(d.techInfo) as string;
    if (evseId !== undefined) details.evseId = String(evseId);
    events.push({
      id: `:${i}`,
      eventType: 'OCPP_NOTIFY_EVENT',
      errorCode: techCode,
      correlationId: corr ?? undefined,
      timestamp: str(d.timestamp) ?? ts,
      details,
      message: `${details.component}.${details.variable} = ${details.actualValue} (${techCode})${details.techInfo ? `: ${details.techInfo}` : ''}`,
    });
  });
  return { correlationId, events };
}

/** What each 2.0.1 action means; an action not here belongs to no session and means nothing. */
const calls201 = new Map<string, (call: Call201) => Meaning>([
  ['TransactionEvent', transactionEvent],
  ['StatusNotification', statusNotification],
  ['MeterValues', ({ s, b }) => ({ correlationId: s.evse.get(Number(b.evseId)) ?? null, events: [] })],
  ['Authorize', ({ s }) => ({ correlationId: openTx(s), events: [] })],
  ['NotifyEvent', notifyEvent],
]);

/**
 * An OCPP 2.0.1 CALL: the session it belongs to (the transaction per EVSE) and the events it means
 * (an abnormal TransactionEvent Ended, a Faulted connector, NotifyEvent problem reports). A CALL
 * is logged at warn exactly when it means an event.
 */
export function translateCall201(
  cp: string,
  s: ChargePointState,
  action: string,
  b: Record<string, unknown>,
  at: number,
  service: string,
): CallTranslation {
  const handle = calls201.get(action);
  if (!handle) return { correlationId: null, level: 'info', events: [] };
  const { correlationId, events } = handle({ cp, s, b, ts: str(b.timestamp) ?? at });
  return {
    correlationId,
    level: events.length > 0 ? 'warn' : 'info',
    events: events.map((e) => ({ service, ...e })),
  };
}
