import type { Direction } from './ocpp-translate.ts';

/**
 * libocpp's message log (the `.log` file of MessageLogging, EVerest/libocpp@0a1880a0b12efd82e745707d4bffe50568f055fb:
 * lib/ocpp/common/ocpp_logging.cpp write_log_to_file): each entry is a header line
 * `{rfc3339}: {ChargePoint>CentralSystem|CentralSystem>ChargePoint|SYS>} {type}` followed by the
 * frame pretty-printed as JSON and a blank line. SYS entries carry their text in the header.
 */
export type OcppLogEntry =
  | { kind: 'frame'; at: number; direction: Direction; frameText: string; line: number }
  | { kind: 'sys'; at: number; message: string; line: number }
  | { kind: 'bad'; line: number; reason: string };

const header =
  /^(\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?): (ChargePoint>CentralSystem|CentralSystem>ChargePoint|SYS>)\s?(.*)$/;

/**
 * Splits log text into entries. `final` says the text ends at an entry boundary (a whole file);
 * otherwise the last entry is held back in `rest` until more text arrives (follow mode).
 */
export function parseOcppLog(
  text: string,
  firstLine = 1,
  final = true,
): { entries: OcppLogEntry[]; rest: string } {
  const lines = text.split('\n');
  const entries: OcppLogEntry[] = [];
  let current: { at: number; kind: string; headerText: string; body: string[]; line: number } | null = null;
  let restStart = text.length;
  let offset = 0;
  const close = () => {
    if (!current) return;
    const body = current.body.join('\n').trim();
    if (current.kind === 'SYS>')
      entries.push({ kind: 'sys', at: current.at, message: current.headerText.trim(), line: current.line });
    else if (!body) entries.push({ kind: 'bad', line: current.line, reason: 'entry without a frame' });
    else
      entries.push({
        kind: 'frame',
        at: current.at,
        direction: current.kind === 'ChargePoint>CentralSystem' ? 'cp->csms' : 'csms->cp',
        frameText: body,
        line: current.line,
      });
    current = null;
  };
  lines.forEach((l, i) => {
    const m = header.exec(l);
    if (m) {
      close();
      restStart = offset;
      const at = Date.parse(m[1] as string);
      current = { at, kind: m[2] as string, headerText: m[3] ?? '', body: [], line: firstLine + i };
      if (Number.isNaN(at)) {
        entries.push({ kind: 'bad', line: firstLine + i, reason: `bad time '${m[1]}'` });
        current = null;
      }
    } else if (current) (current as { body: string[] }).body.push(l);
    else if (l.trim()) entries.push({ kind: 'bad', line: firstLine + i, reason: 'text outside an entry' });
    offset += l.length + 1;
  });
  if (final) {
    close();
    return { entries, rest: '' };
  }
  // The last entry may still be growing: hand it back unparsed.
  return { entries, rest: current ? text.slice(restStart) : '' };
}

/**
 * libocpp logs its websocket's state as SYS entries (EVerest/libocpp@0a1880a:lib/ocpp/common/websocket/websocket.cpp:
 * sys("Disconnected") when the link drops, sys("Connected") when it is up again). Fed the SYS entries
 * in order, returns the gap each "Connected" closes, in seconds, with when it began.
 */
export function createWebsocketGapTracker() {
  let downAt: number | null = null;
  return (e: { at: number; message: string }): { downAt: number; gapS: number } | null => {
    if (e.message === 'Disconnected') {
      downAt ??= e.at;
      return null;
    }
    if (e.message !== 'Connected' || downAt === null) return null;
    const gap = { downAt, gapS: Math.round((e.at - downAt) / 1000) };
    downAt = null;
    return gap;
  };
}
