import { z } from 'zod';
import type { IngestSource } from './event.ts';
import { timestampSchema } from './time.ts';

export const logLevels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof logLevels)[number];
export const levelRank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };

export const logLineInputSchema = z.object({
  timestamp: timestampSchema.optional(),
  service: z.string().trim().min(1).max(200),
  level: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(logLevels)),
  message: z.string().max(16384),
  correlationId: z.string().trim().min(1).max(200).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});

/** A sender's key for one batch of log lines (HTTP `Idempotency-Key`): 1 to 200 printable ASCII characters. */
export const logBatchKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x20-\x7e]*$/, 'must be printable ASCII');

export interface LogLine {
  timestamp: number;
  service: string;
  level: LogLevel;
  message: string;
  correlationId: string | null;
  attributes: Record<string, unknown> | null;
  source: IngestSource;
}

/** A log line as a sender writes it (before validation). */
export type LogLineInput = z.input<typeof logLineInputSchema>;
