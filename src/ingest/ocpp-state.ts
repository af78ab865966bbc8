import type { Translated } from './everest-translate.ts';
import type { OcppVersion } from './ocpp-schemas.ts';

/** The state the OCPP tracker keeps per charge point, and what a translated CALL yields. */

export const MAX_PENDING = 1000;
/** An Authorize is part of the session a StartTransaction with its idTag opens this soon after. */
export const AUTH_TO_START_MS = 10 * 60_000;

export interface Pending {
  action: string;
  version: OcppVersion | null;
  at: number;
  receivedAt: number;
  correlationId: string | null;
  payload: Record<string, unknown>;
}
export interface ChargePointState {
  version: OcppVersion | null;
  pending: Map<string, Pending>;
  /** 1.6: connectorId -> session; transactionId -> session; idTag -> {session, at}. */
  connector: Map<number, string>;
  tx: Map<number, string>;
  auth: Map<string, { correlationId: string; at: number }>;
  /** 2.0.1: evseId -> transactionId. */
  evse: Map<number, string>;
  heartbeatS: number | null;
  lastAt: number | null;
}

export type EventInput = Extract<Translated, { kind: 'event' }>['input'];
export interface CallTranslation {
  correlationId: string | null;
  level: 'info' | 'warn';
  events: EventInput[];
}

export const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
export const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
export const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
