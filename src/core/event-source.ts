/** One DebugQueue event read from outside the local store (another instance) at trigger time. */
export interface RemoteEvent {
  id: string;
  ts: number;
  eventType: string;
  service: string;
  errorCode: string;
  message: string | null;
  correlationId: string | null;
}

/** What a trigger asks: the failing session's events and the candidates' events in the window. */
export interface EventQuery {
  correlationId: string | null;
  /** Raw service names of the candidates (map names and aliases). */
  services: string[];
  /** Start of the analysis window: the candidates' events are read from here. */
  since: number;
  /** Start of the failing session's events (the window may stretch back to its first warning). */
  sessionSince: number;
  until: number;
  /** Most events per stream read. */
  limit: number;
}

/** Events other instances took, read at trigger time. `query` rejects on failure. */
export interface EventSource {
  readonly name: string;
  query(q: EventQuery): Promise<RemoteEvent[]>;
}
