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

/**
 * An OCPP 2.0.1 CALL: the session it belongs to (the transaction per EVSE) and the events it means
 * (an abnormal TransactionEvent Ended, a Faulted connector, NotifyEvent problem reports).
 */
export function translateCall201(
  cp: string,
  s: ChargePointState,
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

  const openTx = () => (s.evse.size === 1 ? ([...s.evse.values()][0] as string) : null);
  switch (action) {
    case 'TransactionEvent': {
      const info = obj(b.transactionInfo);
      const txId = String(info.transactionId);
      correlationId = txId;
      const evseId = num(obj(b.evse).id);
      if (b.eventType === 'Started' && evseId !== undefined) s.evse.set(evseId, txId);
      if (b.eventType === 'Ended') {
        for (const [e, t] of s.evse) if (t === txId) s.evse.delete(e);
        const reason = str(info.stoppedReason) ?? 'Local';
        if (!normal201.has(reason)) {
          level = 'warn';
          event({
            eventType: 'SESSION_DROP',
            errorCode: reason,
            correlationId,
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
          });
        }
      }
      break;
    }
    case 'StatusNotification': {
      const evseId = Number(b.evseId);
      correlationId = s.evse.get(evseId) ?? null;
      if (b.connectorStatus === 'Faulted') {
        level = 'warn';
        event({
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
        });
      }
      break;
    }
    case 'MeterValues':
      correlationId = s.evse.get(Number(b.evseId)) ?? null;
      break;
    case 'Authorize':
      correlationId = openTx();
      break;
    case 'NotifyEvent': {
      const data = Array.isArray(b.eventData) ? b.eventData : [];
      data.forEach((raw, i) => {
        const d = obj(raw);
        const techCode = str(d.techCode);
        const component = obj(d.component);
        const evseId = num(obj(component.evse).id);
        const corr = (evseId !== undefined ? s.evse.get(evseId) : undefined) ?? correlationId ?? openTx();
        correlationId = corr;
        if (!techCode || d.cleared === true) return;
        level = 'warn';
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
        event({
          id: `:${i}`,
          eventType: 'OCPP_NOTIFY_EVENT',
          errorCode: techCode,
          correlationId: corr ?? undefined,
          timestamp: str(d.timestamp) ?? ts,
          details,
          message: `${details.component}.${details.variable} = ${details.actualValue} (${techCode})${details.techInfo ? `: ${details.techInfo}` : ''}`,
        });
      });
      break;
    }
  }
  return { correlationId, level, events };
}
