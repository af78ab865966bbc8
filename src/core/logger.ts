/** Component logger: one line per state change (never per event), to stderr so journald keeps it. */
export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevelName, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export function createLogger(
  options: { level?: LogLevelName; component?: string; write?: (line: string) => void } = {},
): Logger {
  const min = order[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: LogLevelName, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const extra = fields
      ? ` ${Object.entries(fields)
          .map(
            ([k, v]) =>
              `${k}=${typeof v === 'string' ? JSON.stringify(v) : v instanceof Error ? JSON.stringify(v.message) : JSON.stringify(v)}`,
          )
          .join(' ')}`
      : '';
    write(`${level.toUpperCase()} [${options.component ?? 'tracepulse'}] ${msg}${extra}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (component) => createLogger({ ...options, component }),
  };
}

/** A logger that keeps lines in memory, for tests. */
export function createMemoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ level: 'debug', write: (l) => lines.push(l) }), { lines });
}
