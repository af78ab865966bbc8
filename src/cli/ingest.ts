import { openSync, readSync, statSync } from 'node:fs';
import { createWebsocketGapTracker, type OcppLogEntry, parseOcppLog } from '../ingest/ocpp-log.ts';
import { parseArgs, type TextOut } from './args.ts';

export const ingestUsage = `usage: tracepulse ingest ocpp-log FILE --charge-point ID [--url URL] [--api-key KEY] [--follow]

Reads a libocpp message log (the .log file) and sends its frames, in order, to a running TracePulse
(POST URL/api/ocpp/ID; SYS lines to POST URL/api/logs). --follow keeps reading as the file grows.
URL defaults to http://127.0.0.1:3000.`;

const BATCH = 200;

/** `tracepulse ingest ocpp-log`: a libocpp message log into a running service. */
export async function ingestCommand(
  argv: string[],
  io: { out: TextOut; err: TextOut; signal?: AbortSignal } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  const args = parseArgs(argv, { values: ['charge-point', 'url', 'api-key'], flags: ['follow'] });
  if (!args.ok) {
    io.err.write(`${args.error}\n${ingestUsage}\n`);
    return 2;
  }
  const [kind, file] = args.positionals;
  const cp = args.values['charge-point'];
  if (kind !== 'ocpp-log' || !file || !cp) {
    io.err.write(`${ingestUsage}\n`);
    return 2;
  }
  const url = (args.values.url ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (args.values['api-key']) headers.authorization = `Bearer ${args.values['api-key']}`;
  const totals = { frames: 0, lines: 0, rejected: 0 };
  const websocketGap = createWebsocketGapTracker();

  async function send(entries: OcppLogEntry[]): Promise<boolean> {
    for (let i = 0; i < entries.length; i += BATCH) {
      const chunk = entries.slice(i, i + BATCH);
      const frames = chunk.flatMap((e) =>
        e.kind === 'frame' ? [{ frame: e.frameText, timestamp: e.at, direction: e.direction }] : [],
      );
      const { sys, gaps } = libocppLines(chunk, cp as string, websocketGap);
      for (const e of chunk)
        if (e.kind === 'bad') {
          totals.rejected++;
          io.err.write(`${file}:${e.line}: ${e.reason}\n`);
        }
      if (frames.length) {
        const res = await fetch(`${url}/api/ocpp/${encodeURIComponent(cp as string)}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(frames),
        });
        const body = (await res.json().catch(() => ({}))) as { accepted?: number; problems?: string[] };
        if (res.status >= 500 || res.status === 401 || res.status === 413) {
          io.err.write(`POST /api/ocpp answered ${res.status}: ${JSON.stringify(body)}\n`);
          return false;
        }
        totals.frames += body.accepted ?? 0;
        for (const p of body.problems ?? []) {
          totals.rejected++;
          io.err.write(`${file}: ${p}\n`);
        }
      }
      if (sys.length) {
        const res = await fetch(`${url}/api/logs`, { method: 'POST', headers, body: JSON.stringify(sys) });
        if (!res.ok) {
          io.err.write(`POST /api/logs answered ${res.status}\n`);
          return false;
        }
        totals.lines += sys.length;
      }
      for (const g of gaps) {
        const res = await fetch(`${url}/webhook/event`, { method: 'POST', headers, body: JSON.stringify(g) });
        if (!res.ok) {
          io.err.write(`POST /webhook/event answered ${res.status}\n`);
          return false;
        }
      }
    }
    return true;
  }

  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    io.err.write(`cannot read ${file}: ${(e as Error).message}\n`);
    return 1;
  }
  let pos = 0;
  let rest = '';
  let line = 1;
  const readNew = (): string => {
    const size = statSync(file).size;
    if (size < pos) {
      // Rotated or truncated (libocpp rotates its logs): start again from the top.
      pos = 0;
      rest = '';
      line = 1;
    }
    if (size === pos) return '';
    const buf = Buffer.alloc(size - pos);
    readSync(fd, buf, 0, buf.length, pos);
    pos = size;
    return buf.toString('utf8');
  };
  const step = async (final: boolean): Promise<boolean> => {
    const text = rest + readNew();
    const parsed = parseOcppLog(text, line, final);
    line += text.slice(0, text.length - parsed.rest.length).split('\n').length - 1;
    rest = parsed.rest;
    return send(parsed.entries);
  };
  try {
    if (!args.flags.has('follow')) {
      if (!(await step(true))) return 1;
    } else {
      while (!io.signal?.aborted) {
        if (!(await step(false))) return 1;
        await Bun.sleep(500);
      }
      if (!(await step(true))) return 1;
    }
  } catch (e) {
    io.err.write(`cannot send to ${url}: ${(e as Error).message}\n`);
    return 1;
  }
  io.out.write(`sent ${totals.frames} frames and ${totals.lines} log lines; ${totals.rejected} rejected\n`);
  return totals.rejected && !totals.frames ? 1 : 0;
}

/**
 * libocpp's own lines (connects, disconnects) as log lines on ocpp; a websocket that was down gives
 * a warn line and a low OCPP_GAP event (context, like a heartbeat gap).
 */
function libocppLines(
  chunk: OcppLogEntry[],
  cp: string,
  websocketGap: ReturnType<typeof createWebsocketGapTracker>,
): { sys: Array<Record<string, unknown>>; gaps: Array<Record<string, unknown>> } {
  const gaps: Array<Record<string, unknown>> = [];
  const sys = chunk.flatMap((e) => {
    if (e.kind !== 'sys') return [];
    const line = {
      timestamp: e.at,
      service: 'ocpp',
      level: /disconnect|fail|clos|reconnect|timeout|error/i.test(e.message) ? 'warn' : 'info',
      message: `libocpp: ${e.message}`,
      attributes: { chargePointId: cp, libocppLogLine: e.line } as Record<string, unknown>,
    };
    const gap = websocketGap(e);
    if (!gap) return [line];
    const since = new Date(gap.downAt).toISOString();
    // The websocket was down: a warn line and a low OCPP_GAP event (context, like a heartbeat gap).
    gaps.push({
      id: `ocpp-log:${cp}:websocket:${gap.downAt}`,
      eventType: 'OCPP_GAP',
      service: 'ocpp',
      errorCode: 'WebsocketGap',
      priority: 'low',
      timestamp: e.at,
      message: `OCPP websocket down for ${gap.gapS} s`,
      details: { chargePointId: cp, gapS: String(gap.gapS), downSince: since },
    });
    return [
      line,
      {
        ...line,
        level: 'warn',
        message: `libocpp: websocket down for ${gap.gapS} s (Disconnected at ${since})`,
        attributes: { ...line.attributes, websocketGapS: gap.gapS },
      },
    ];
  });
  return { sys, gaps };
}
