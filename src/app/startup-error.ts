/**
 * A start-up failure other than configuration, with its documented exit code (sysexits.h):
 * 69 the port cannot be bound, 73 the data directory cannot be used, 74 the disk is full.
 */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: 69 | 73 | 74,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StartupError';
  }
}
