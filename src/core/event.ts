import { z } from 'zod';
import { timestampSchema } from './time.ts';

export const priorities = ['high', 'low'] as const;
export type Priority = (typeof priorities)[number];

const name = z.string().trim().min(1).max(200);
/** Nesting and size bounds of one structured detail (an OCPP payload), stored as JSON text. */
export const MAX_DETAIL_DEPTH = 8;
export const MAX_DETAIL_JSON_BYTES = 4096;

const depthOf = (v: unknown, d = 0): number =>
  d > MAX_DETAIL_DEPTH || v === null || typeof v !== 'object'
    ? d
    : Math.max(d + 1, ...Object.values(v as object).map((x) => depthOf(x, d + 1)));

const structuredDetail = z
  .union([z.record(z.string(), z.unknown()), z.array(z.unknown())])
  .transform((v, ctx) => {
    if (depthOf(v) > MAX_DETAIL_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `nested deeper than ${MAX_DETAIL_DEPTH} levels` });
      return z.NEVER;
    }
    const json = JSON.stringify(v);
    if (Buffer.byteLength(json) > MAX_DETAIL_JSON_BYTES) {
      ctx.addIssue({ code: 'custom', message: `over ${MAX_DETAIL_JSON_BYTES} bytes as JSON` });
      return z.NEVER;
    }
    return json;
  });

// Text, numbers and booleans as text; objects and arrays (OCPP payloads) as JSON text, bounded.
const detailValue = z.union([
  z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
  structuredDetail,
]);

/**
 * A DebugQueue event as it arrives. Both the flat form and the nested form
 * ({ eventType, correlationId, details: { service, errorCode, ... } }) are accepted.
 */
export const debugEventInputSchema = z
  .object({
    id: z.string().trim().min(1).max(200).optional(),
    eventType: name,
    service: name.optional(),
    errorCode: name.optional(),
    correlationId: z.string().trim().min(1).max(200).optional(),
    details: z.record(z.string(), detailValue).optional(),
    priority: z.enum(priorities).optional(),
    timestamp: timestampSchema.optional(),
    message: z.string().max(8192).optional(),
  })
  .transform((e, ctx) => {
    const details = { ...(e.details ?? {}) };
    const service = e.service ?? details.service;
    const errorCode = e.errorCode ?? details.errorCode;
    if (!service)
      ctx.addIssue({ code: 'custom', path: ['service'], message: 'required (top level or details.service)' });
    if (!errorCode)
      ctx.addIssue({
        code: 'custom',
        path: ['errorCode'],
        message: 'required (top level or details.errorCode)',
      });
    if (!service || !errorCode) return z.NEVER;
    if (!e.service) delete details.service;
    if (!e.errorCode) delete details.errorCode;
    return { ...e, service, errorCode, details };
  });

/** A stored event: every optional field resolved. */
export interface DebugEvent {
  id: string;
  eventType: string;
  service: string;
  errorCode: string;
  correlationId: string | null;
  details: Record<string, string>;
  priority: Priority;
  timestamp: number;
  receivedAt: number;
  message: string | null;
  source: IngestSource;
}

export type IngestSource =
  | 'http'
  | 'mqtt'
  | 'replay'
  | 'everest'
  | 'ocpp'
  | 'loki-push'
  | 'otlp'
  | 'loki-tail'
  | 'es-follow';

/** A DebugQueue event as a sender writes it (before validation). */
export type DebugEventInput = z.input<typeof debugEventInputSchema>;
