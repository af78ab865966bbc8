/**
 * A TracePulse service to feed: one already running (remoteTarget), or one started in-process on a
 * temporary data dir (cli/local-target.ts, which boots the app: replay/ itself never does).
 */
export interface FeedTarget {
  url: string;
  apiKey?: string;
  maxBodyBytes: number;
  /** Stops an in-process service and deletes its data dir; a no-op for a remote one. */
  stop(): Promise<void>;
}

/** A service that is already running (--url). */
export function remoteTarget(options: { url: string; apiKey?: string; maxBodyBytes?: number }): FeedTarget {
  return {
    url: options.url,
    apiKey: options.apiKey,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
    stop: async () => {},
  };
}
