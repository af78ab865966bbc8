/** Writes one line to stderr, bypassing console so a wrapped console.warn cannot loop back into the queue. */
export function writeNotice(line: string): void {
  try {
    if (typeof process !== 'undefined' && process.stderr?.write) process.stderr.write(`${line}\n`);
  } catch {
    // stderr closed: nothing else to tell
  }
}
