import { z } from 'zod';
import { changeInputSchema } from '../core/change.ts';
import { describeIssues } from '../core/errors.ts';
import { debugEventInputSchema } from '../core/event.ts';
import { logLineInputSchema } from '../core/log-line.ts';

/**
 * A recorded stream, one JSON object per line, each with a `type`:
 *   {"type":"map","yaml":"..."}                       system map in force from here on (PUT /api/system-map)
 *   {"type":"change", ...POST /api/changes body}      a deploy, config, firmware or commit record
 *   {"type":"log", ...POST /api/logs line}            one log line
 *   {"type":"event", ...POST /webhook/event body}     a DebugQueue event (flat or nested form)
 *   {"type":"label","correlationId":"...","rootService":"...", ...}  optional expected answer for a trigger
 * Lines are fed in file order; blank lines and lines starting with '#' or '//' are skipped.
 */
export const labelSchema = z.object({
  correlationId: z.string().min(1),
  rootService: z.string().min(1),
  faultClass: z.string().min(1).optional(),
  changeId: z.string().min(1).nullable().optional(),
  scenario: z.string().optional(),
  template: z.string().optional(),
  title: z.string().optional(),
  /** Where a recorded case comes from: public issue URLs or repo@commit:path, separated by spaces. */
  source: z.string().optional(),
});
export type Label = z.infer<typeof labelSchema>;

export type StreamRecord =
  | { type: 'map'; line: number; yaml: string }
  | { type: 'change'; line: number; body: Record<string, unknown> }
  | { type: 'log'; line: number; body: Record<string, unknown> }
  | { type: 'event'; line: number; body: Record<string, unknown> }
  | { type: 'label'; line: number; label: Label };

export const recordTypes = ['map', 'change', 'log', 'event', 'label'] as const;

const mapSchema = z.object({ yaml: z.string().min(1) });

/** Parses and validates a stream; every bad line is reported at once with its line number. */
export function parseStream(
  text: string,
): { ok: true; records: StreamRecord[] } | { ok: false; problems: string[] } {
  const records: StreamRecord[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith('//')) return;
    const record = parseRecord(trimmed, i + 1);
    if (Array.isArray(record)) problems.push(...record);
    else records.push(record);
  });
  return problems.length ? { ok: false, problems } : { ok: true, records };
}

/** One line's record, or what is wrong with it: not a JSON object, or not valid for its type. */
function parseRecord(trimmed: string, line: number): StreamRecord | string[] {
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (e) {
    return [`line ${line}: malformed JSON: ${(e as Error).message}`];
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return [`line ${line}: expected a JSON object`];
  const { type, ...body } = value as Record<string, unknown>;
  const bad = (issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>) =>
    describeIssues(issues).map((p) => `line ${line} (${String(type)}): ${p}`);
  switch (type) {
    case 'map': {
      const r = mapSchema.safeParse(body);
      return r.success ? { type, line, yaml: r.data.yaml } : bad(r.error.issues);
    }
    case 'change': {
      const r = changeInputSchema.safeParse(body);
      return r.success ? { type, line, body } : bad(r.error.issues);
    }
    case 'log': {
      const r = logLineInputSchema.safeParse(body);
      return r.success ? { type, line, body } : bad(r.error.issues);
    }
    case 'event': {
      const r = debugEventInputSchema.safeParse(body);
      return r.success ? { type, line, body } : bad(r.error.issues);
    }
    case 'label': {
      const r = labelSchema.safeParse(body);
      return r.success ? { type, line, label: r.data } : bad(r.error.issues);
    }
    default:
      return [
        `line ${line}: unknown type ${JSON.stringify(type)} (expected one of: ${recordTypes.join(', ')})`,
      ];
  }
}

/** Writes records back as NDJSON text (the inverse of parseStream, without comments). */
export function formatStream(records: StreamRecord[]): string {
  return `${records.map((r) => JSON.stringify(toJson(r))).join('\n')}\n`;
}

function toJson(r: StreamRecord): Record<string, unknown> {
  switch (r.type) {
    case 'map':
      return { type: 'map', yaml: r.yaml };
    case 'label':
      return { type: 'label', ...r.label };
    default:
      return { type: r.type, ...r.body };
  }
}
