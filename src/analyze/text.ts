/** Text helpers shared by evidence gathering and the rules: message patterns, word sets, times. */

// Shared with the store's pattern index, which may import only core.
export { messagePattern } from '../core/message-pattern.ts';

/** Lower-case key used to compare names: "Evse-Manager_1" and "evsemanager1" are the same. */
export const nameKey = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

// Words too common in charger logs and commit messages to link a change to a failure.
const stopWords = new Set(
  'the and for with from this that into when then than have been were will after before while error errors fail failed failure fault faults warn warning info debug event events code value values state status service module could should would does done make made only also each other more less some over under about again fix fixes fixed update updated change changed changes add added remove removed message messages new old true false null none void return const auto static struct class include ifdef endif else case break default'.split(
    ' ',
  ),
);

const stem = (w: string) =>
  w.length > 5 && w.endsWith('ies')
    ? `${w.slice(0, -3)}y`
    : w.length > 5 && w.endsWith('ing')
      ? w.slice(0, -3)
      : w.length > 4 && w.endsWith('ed')
        ? w.slice(0, -2)
        : w.length > 4 && w.endsWith('s') && !w.endsWith('ss')
          ? w.slice(0, -1)
          : w;

/**
 * Distinctive words of a text: identifiers split at camelCase and underscores, lower-cased,
 * crudely stemmed, at least 4 letters, without stop words. "cut RetryTimeout to 3s" -> retry, timeout.
 */
export function words(text: string, limit = 20_000): Set<string> {
  const out = new Set<string>();
  const t = text
    .slice(0, limit)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  for (const raw of t.toLowerCase().split(/[^a-z]+/)) {
    if (raw.length < 4) continue;
    const w = stem(raw);
    if (w.length >= 4 && !stopWords.has(w) && !stopWords.has(raw)) out.add(w);
  }
  // "timed out" and "time-out" mean timeout.
  if (/time[sd]?[\s_-]?out/i.test(text.slice(0, limit))) out.add('timeout');
  return out;
}

const COMPOUND =
  /[A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*/g;

const HOST = /\b[a-z][a-z0-9]*:\/\/[^\s/'"]+|\b[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+(?:\.[A-Za-z0-9-]+)+/g;

/** The shortest key an identifier may have. */
export const IDENTIFIER_MIN = 6;

/**
 * The compound identifiers of a text (status_description, statusDescription, dc_charger.py,
 * BootNotification), keyed by nameKey so the spellings meet: names a program gives its fields,
 * files and messages, which plain words are too common to pin down. Versions, addresses and hex
 * ids are left out, and so are keys shorter than six characters.
 */
export function identifiers(text: string, limit = 20_000): Map<string, string> {
  const out = new Map<string, string>();
  // Addresses name where a thing runs, not what it is: every connection error and every
  // certificate or DNS change names the host (ev-monitor.net, wss://csms.example.org/ocpp).
  const code = text.slice(0, limit).replace(HOST, ' ');
  for (const raw of code.match(COMPOUND) ?? []) {
    const key = nameKey(raw);
    if (key.length < IDENTIFIER_MIN || /^[0-9a-f]+$/.test(key) || /^v?\d/.test(key)) continue;
    if (!out.has(key)) out.set(key, raw);
  }
  return out;
}

/** Code-unit string order: unlike localeCompare it is the same on every machine and locale. */
export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** "09:41:02" (UTC) for evidence lines. */
export const clockTime = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** "20 s", "4 min", "3 h", "2 d": a duration as an engineer would say it. */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export { fingerprint } from '../core/fingerprint.ts';

/**
 * Version numbers in a text ("1.8.32", "v2.0.1"): dotted digits, two to four parts. A station's
 * LAN addresses (RFC 1918 private ranges, link-local, loopback) are no versions: "host
 * 192.168.20.31 added" installs nothing the trigger's "192.168.20.31" could name.
 */
export const versionsIn = (text: string): string[] =>
  (text.match(/\b\d+(?:\.\d+){1,3}\b/g) ?? []).filter((v) => !privateAddress.test(v));

const privateAddress = /^(10\.\d+|172\.(1[6-9]|2\d|3[01])|192\.168|169\.254|127\.\d+)\.\d+\.\d+$/;

/**
 * A line without its leading logger tag ("[homeassistant.components.automation.cheap_hours] ...",
 * "[lp-1  ] ...", "[pyeasee.easee] ..."): the tag says who speaks, not whom the line is about.
 */
export const withoutLoggerTag = (message: string): string => message.replace(/^\s*\[[^\]]{1,120}\]\s*/, '');
