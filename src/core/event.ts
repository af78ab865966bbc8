import { z } from 'zod';
import { timestampSchema } from './time.ts';

export const priorities = ['high', 'low'] as const;
export type Priority = (typeof priorities)[number];

const name = z.string().trim().min(1).max(200);
const detailValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

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

export type IngestSource = 'http' | 'mqtt' | 'replay' | 'everest' | 'ocpp';

/** A DebugQueue event as a sender writes it (before validation). */
export type DebugEventInput = z.input<typeof debugEventInputSchema>;
