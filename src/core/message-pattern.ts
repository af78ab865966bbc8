/**
 * A log message with its variable parts (ids, numbers, addresses) replaced, so that
 * "Modbus timeout reading 0x3000 after 500ms" and "... 0x3002 after 510ms" are one pattern.
 */
export function messagePattern(message: string): string {
  return message
    .slice(0, 512)
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<n>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/\d+(?:[.:]\d+)*/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 200);
}
