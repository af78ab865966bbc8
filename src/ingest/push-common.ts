import { gunzipSync } from 'node:zlib';
import type { IngestSource } from '../core/event.ts';
import { type LogLine, logLineInputSchema } from '../core/log-line.ts';
import { describeIssues } from '../core/errors.ts';
import type { IngestIntake } from './intake.ts';

/** Most problems listed in one answer (a 10,000-line batch of bad lines must not make a 1 MB answer). */
const MAX_PROBLEMS = 50;

/** Validates a translated line with the same schema as POST /api/logs; problems are prefixed with `where`. */
export function checkLine(
  candidate: Omit<LogLine, 'source'>,
  source: IngestSource,
  where: string,
  problems: string[],
): LogLine | null {
  const r = logLineInputSchema.safeParse({
    timestamp: candidate.timestamp,
    service: candidate.service,
    level: candidate.level,
    message: candidate.message,
    ...(candidate.correlationId ? { correlationId: candidate.correlationId } : {}),
    ...(candidate.attributes ? { attributes: candidate.attributes } : {}),
  });
  if (!r.success) {
    if (problems.length < MAX_PROBLEMS)
      problems.push(...describeIssues(r.error.issues).map((p) => `${where} ${p}`));
    return null;
  }
  return { ...candidate, service: r.data.service, source };
}

/**
 * Stores a push receiver's good lines through the normal ingest path (committed before the answer)
 * and builds the answer: 400 with the problems when nothing was good; else `ok(accepted)`, plus
 * the problems when some lines were rejected.
 */
export async function storePushed(
  sink: IngestIntake,
  source: IngestSource,
  good: LogLine[],
  total: number,
  problems: string[],
  ok: (accepted: number, rejected: number) => Response,
): Promise<Response> {
  if (!good.length) return reject(sink, source, problems.length ? problems : ['no log lines'], 'invalid_log');
  const { accepted } = await sink.logs(good);
  const rejected = total - good.length;
  if (rejected) sink.countRejected(source, 'invalid_log', rejected);
  if (!rejected) return ok(accepted, 0);
  return Response.json({ accepted, rejected, problems });
}

export function reject(
  sink: IngestIntake,
  source: IngestSource,
  problems: string[],
  reason: string,
  status = 400,
) {
  sink.countRejected(source, reason);
  return Response.json({ error: 'invalid input', problems: problems.slice(0, MAX_PROBLEMS) }, { status });
}

/** How much larger than TRACEPULSE_MAX_BODY_BYTES a body may be once decompressed (gzip, snappy). */
export const DECODED_FACTOR = 16;

/**
 * The request body, gunzipped when `Content-Encoding: gzip` (what the OpenTelemetry Collector and
 * Fluent Bit send when compression is on). Decompression stops at `maxDecoded` bytes: a zip bomb
 * gets 413 (`too_large`) after inflating at most that much; other encodings get 415.
 */
export async function readBody(
  req: Request,
  sink: IngestIntake,
  source: IngestSource,
  maxDecoded: number,
): Promise<Uint8Array | Response> {
  const raw = new Uint8Array(await req.arrayBuffer());
  const enc = (req.headers.get('content-encoding') ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return raw;
  if (enc !== 'gzip' && enc !== 'x-gzip')
    return reject(
      sink,
      source,
      [`Content-Encoding ${enc} is not supported; send gzip or uncompressed`],
      'bad_encoding',
      415,
    );
  try {
    return gunzipSync(raw, { maxOutputLength: maxDecoded });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      return reject(
        sink,
        source,
        [`body exceeds ${maxDecoded} bytes after gzip decompression`],
        'too_large',
        413,
      );
    return reject(sink, source, [`body is not valid gzip: ${(err as Error).message}`], 'bad_gzip');
  }
}
