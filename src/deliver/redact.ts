/** Replacement for a redacted value. */
export const REDACTED = '[redacted]';

/** Values shorter than this are not searched for in free text: "12" would blank out every number. */
const minValueLength = 4;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Returns a function that copies any JSON-like value with the configured fields redacted:
 * object keys named like a field (case-sensitive, as configured) get REDACTED; in every string,
 * `field=value`, `field: value`, `"field":"value"` and `field <token with a digit>` forms are
 * redacted, and so is every value
 * that was found under a redacted key or given as `knownValues` (e.g. the event's details), so an
 * idTag quoted in an evidence log line does not leave the device either.
 */
export function createRedactor(fields: readonly string[]) {
  const keys = new Set(fields);
  const names = fields.map(escapeRe).join('|');
  const inline = fields.length
    ? new RegExp(`(["']?\\b(?:${names})\\b["']?\\s*[:=]\\s*)("[^"]*"|'[^']*'|[^\\s,;)}\\]]+)`, 'g')
    : null;
  // "idTag 04A2B3C4" in prose: a following token is taken as the value only if it holds a digit.
  const loose = fields.length
    ? new RegExp(`(\\b(?:${names})\\b\\s+)([A-Za-z0-9:._-]*\\d[A-Za-z0-9:._-]*)`, 'g')
    : null;

  const collect = (v: unknown, found: Set<string>, depth = 0): void => {
    if (depth > 32 || v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (keys.has(k) && (typeof x === 'string' || typeof x === 'number')) {
        const s = String(x).trim();
        if (s.length >= minValueLength) found.add(s);
      } else collect(x, found, depth + 1);
    }
  };

  return function redact<T>(value: T, knownValues: readonly string[] = []): T {
    if (!keys.size) return value;
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
      let out = inline
        ? s.replace(inline, (_m, head: string, val: string) => {
            const q = val.startsWith('"') ? '"' : val.startsWith("'") ? "'" : '';
            return `${head}${q}${REDACTED}${q}`;
          })
        : s;
      if (loose) out = out.replace(loose, (_m, head: string) => `${head}${REDACTED}`);
      if (valuesRe) out = out.replace(valuesRe, REDACTED);
      return out;
    };
    const walk = (v: unknown, depth: number): unknown => {
      if (typeof v === 'string') return text(v);
      if (depth > 32 || v === null || typeof v !== 'object') return v;
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        out[k] = keys.has(k) && x !== null && typeof x !== 'object' ? REDACTED : walk(x, depth + 1);
      return out;
    };
    return walk(value, 0) as T;
  };
}

export type Redactor = ReturnType<typeof createRedactor>;
