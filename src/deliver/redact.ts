/** Replacement for a redacted value. */
export const REDACTED = '[redacted]';

/** Values shorter than this are not searched for in free text: "12" would blank out every number. */
const minValueLength = 4;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A key as compared: case and `_`/`-` do not matter (idTag, IdTag, id_tag, ID-TAG are one key). */
const normKey = (k: string) => k.toLowerCase().replace(/[_-]/g, '');

/**
 * Keys that are always sensitive once redaction is on, beside TRACEPULSE_REDACT_FIELDS: the OCPP
 * 1.6 (idTag, parentIdTag) and 2.0.1 (idToken, groupIdToken, evseId-less IdTokenType) identifiers,
 * vehicle and contract ids, people's addresses, and secrets (the security profile's AuthorizationKey).
 */
export const builtInSensitiveKeys = [
  'idTag',
  'parentIdTag',
  'idToken',
  'groupIdToken',
  'vin',
  'vehicleVin',
  'emaid',
  'contractId',
  'email',
  'password',
  'passwd',
  'secret',
  'token',
  'apiToken',
  'apiKey',
  'accessToken',
  'refreshToken',
  'authorizationKey',
  'basicAuthPassword',
];

/** Pattern for a key in text, case-insensitive, with optional `_`/`-` between its letters' words. */
const keyPattern = (k: string) =>
  k
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[ _-]/)
    .map(escapeRe)
    .join('[_-]?');

const vinWeights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
const vinValue = (c: string) =>
  /\d/.test(c)
    ? Number(c)
    : 'ABCDEFGH'.includes(c)
      ? c.charCodeAt(0) - 64
      : 'JKLMN'.includes(c)
        ? c.charCodeAt(0) - 73
        : c === 'P'
          ? 7
          : c === 'R'
            ? 9
            : c.charCodeAt(0) - 81;

/** ISO 3779 VIN: the check digit (position 9) is valid (North America), or it has a WMI-like start and a numeric serial (Europe, no check digit). */
export function looksLikeVin(s: string): boolean {
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(s) || !/[A-Z]/.test(s) || !/\d/.test(s)) return false;
  const sum = [...s].reduce((acc, c, i) => acc + vinValue(c) * vinWeights[i]!, 0);
  const check = sum % 11 === 10 ? 'X' : String(sum % 11);
  if (s[8] === check) return true;
  return (
    /^[A-HJ-NPR-Z][A-HJ-NPR-Z0-9]{2}/.test(s) && /\d{4}$/.test(s) && (s.match(/[A-Z]/g) ?? []).length >= 3
  );
}

// Identifiers and secrets found by their shape, whatever key (or none) they come with.
const bearer = /\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/-]{6,}=*/gi;
const jwt = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?/g;
const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const vinCandidate = /\b[A-HJ-NPR-Z0-9]{17}\b/g;
// RFID in prose: "RFID 04A2B3C4", "card uid 04:A2:B3:C4", "tag 04-a2-b3-c4-d5-e6-f7" (4 to 10 byte UIDs).
const rfid =
  /\b((?:RFID|card|tag|badge)(?:\s+(?:tag|card|uid|id|number))?\s*[:=#]?\s*)([0-9A-F]{2}(?:[:\s-]?[0-9A-F]{2}){3,9})\b/gi;

/**
 * Returns a function that copies any JSON-like value with sensitive data redacted. Sensitive keys
 * are the configured fields and builtInSensitiveKeys, compared without case or `_`/`-`; object
 * keys named so get REDACTED. In every string: `key=value`, `key: value`, `"key":"value"` and
 * `key <token with a digit>` forms of those keys; Bearer/Basic credentials and JWTs; email
 * addresses; VINs (looksLikeVin); RFID UIDs after RFID/card/tag; and every value found under a
 * sensitive key or given as `knownValues` (e.g. the event's details), so an idTag quoted in an
 * evidence log line does not leave the device either. No configured fields: redaction is off.
 */
export function createRedactor(fields: readonly string[]) {
  const isSensitive = sensitiveKeyTest(fields);
  const all = [...new Set([...fields, ...builtInSensitiveKeys])];
  const names = all
    .map(keyPattern)
    .sort((a, b) => b.length - a.length)
    .join('|');
  const inline = new RegExp(
    `(["']?\\b(?:${names})\\b["']?\\s*[:=]\\s*)("[^"]*"|'[^']*'|[^\\s,;)}\\]]+)`,
    'gi',
  );
  // "idTag 04A2B3C4" in prose: a following token is taken as the value only if it holds a digit.
  const loose = new RegExp(`(\\b(?:${names})\\b\\s+)([A-Za-z0-9:._-]*\\d[A-Za-z0-9:._-]*)`, 'gi');

  const collect = (v: unknown, found: Set<string>, depth = 0): void => {
    if (depth > 32 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (isSensitive(k) && (typeof x === 'string' || typeof x === 'number')) {
        const s = String(x).trim();
        if (s.length >= minValueLength) found.add(s);
      } else collect(x, found, depth + 1);
    }
  };

  return function redact<T>(value: T, knownValues: readonly string[] = []): T {
    if (!fields.length) return value;
    const found = new Set(knownValues.filter((s) => s.trim().length >= minValueLength).map((s) => s.trim()));
    collect(value, found);
    // Longest first so a value that contains another is replaced whole.
    const valuesRe = found.size
      ? new RegExp(
          [...found]
            .sort((a, b) => b.length - a.length)
            .map(escapeRe)
            .join('|'),
          'g',
        )
      : null;
    const text = (s: string) => {
      // Credentials first (so "token: Bearer x" loses both), then keyed forms, then known values and shapes.
      let out = s
        .replace(bearer, (_m, scheme: string, gap: string) => `${scheme}${gap}${REDACTED}`)
        .replace(jwt, REDACTED)
        .replace(inline, (_m, head: string, val: string) => {
          const q = val.startsWith('"') ? '"' : val.startsWith("'") ? "'" : '';
          return `${head}${q}${REDACTED}${q}`;
        })
        .replace(loose, (_m, head: string) => `${head}${REDACTED}`)
        .replace(rfid, (m, head: string, uid: string) => (/\d/.test(uid) ? `${head}${REDACTED}` : m));
      if (valuesRe) out = out.replace(valuesRe, REDACTED);
      out = out.replace(email, REDACTED).replace(vinCandidate, (m) => (looksLikeVin(m) ? REDACTED : m));
      return out;
    };
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return text(v);
      if (depth > 32 || v === null || typeof v !== 'object') return v;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        out[k] = isSensitive(k) && x !== null && typeof x !== 'object' ? REDACTED : walk(x, depth + 1);
      return out;
    };
    return walk(value, 0) as T;
  };
}

/** True for a key that is redacted: a configured field or a built-in one, ignoring case and `_`/`-`. */
export function sensitiveKeyTest(fields: readonly string[]): (key: string) => boolean {
  if (!fields.length) return () => false;
  const keys = new Set([...fields, ...builtInSensitiveKeys].map(normKey));
  return (k) => keys.has(normKey(k));
}

export type Redactor = ReturnType<typeof createRedactor>;
