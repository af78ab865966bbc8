import { z } from 'zod';

/** Accepts ISO 8601 text or epoch milliseconds; yields epoch milliseconds. */
export const timestampSchema = z.union([
  z.number().int().nonnegative().max(8.64e15, 'epoch milliseconds out of range'),
  z
    .string()
    .min(1)
    .transform((s, ctx) => {
      // ISO 8601 only: Date.parse also takes loose formats like "1" or "March 7", which would hide bad input.
      if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) {
        ctx.addIssue({ code: 'custom', message: 'expected ISO 8601 time or epoch milliseconds' });
        return z.NEVER;
      }
      const ms = Date.parse(s);
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: 'invalid date' });
        return z.NEVER;
      }
      return ms;
    }),
]);

export const isoTime = (ms: number): string => new Date(ms).toISOString();
