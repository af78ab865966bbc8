import { z } from 'zod';
import { describeIssues } from '../core/errors.ts';
import type { Translation } from './everest-translate.ts';
import { type OcppVersion, ocppSchema, versionsFor } from './ocpp-schemas.ts';

/** OCPP-J frame syntax (OCPP-J 1.6 §4, 2.0.1 Part 4) and the checks of a payload against the official schemas. */

const MAX_PAYLOAD_TEXT = 2000;

const messageId = z.string().min(1).max(36);
const payload = z.record(z.string(), z.unknown());
export const callSchema = z.tuple([z.literal(2), messageId, z.string().min(1).max(100), payload]);
export const resultSchema = z.tuple([z.literal(3), messageId, payload]);
export const errorSchema = z.tuple([
  z.literal(4),
  messageId,
  z.string().min(1).max(100),
  z.string().max(4096),
  payload.optional(),
]);

export function bad(
  kind: string,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
): Translation {
  return { ok: false, reason: `invalid_ocpp: ${kind}: ${describeIssues(issues).join('; ')}` };
}

/** Picks the version whose official schema accepts the payload (the charge point's known version first). */
export function validate(
  action: string,
  body: unknown,
  known: OcppVersion | null,
): { ok: true; version: OcppVersion | null } | { ok: false; problems: string[] } {
  const versions = versionsFor(action).sort((a, b) => (a === known ? -1 : b === known ? 1 : 0));
  if (!versions.length) return { ok: true, version: known };
  let best: string[] | null = null;
  for (const v of versions) {
    const r = ocppSchema(v, action)?.safeParse(body);
    if (!r || r.success) return { ok: true, version: v };
    const problems = describeIssues(r.error.issues).map((p) => `${v} ${p}`);
    if (!best || problems.length < best.length) best = problems;
  }
  return { ok: false, problems: best ?? [] };
}

/** A payload as JSON for a log line, clipped. */
export function text(v: unknown): string {
  const t = JSON.stringify(v);
  return t.length > MAX_PAYLOAD_TEXT ? `${t.slice(0, MAX_PAYLOAD_TEXT)}…` : t;
}
