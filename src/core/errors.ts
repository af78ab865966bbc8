/** Closed set of error codes; retry decisions are made from `code`, never from message text. */
export type ErrorCode =
  | 'BAD_INPUT'
  | 'TOO_LARGE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'STORAGE'
  | 'UPSTREAM_TRANSIENT'
  | 'UPSTREAM_PERMANENT'
  | 'CONFIG';

export class TracePulseError extends Error {
  readonly code: ErrorCode;
  readonly problems: string[];
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; problems?: string[] } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TracePulseError';
    this.code = code;
    this.problems = options.problems ?? [];
  }

  /** Transient errors are worth retrying; everything else is permanent. */
  get transient(): boolean {
    return this.code === 'UPSTREAM_TRANSIENT' || this.code === 'STORAGE';
  }
}

/** Formats zod issues as "path: message" lines, the shape every 4xx and dead-letter uses. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  return issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message));
}
