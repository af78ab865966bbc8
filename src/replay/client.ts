import type { Report } from '../core/report.ts';

/** An HTTP answer other than 2xx from the service being fed. */
export class FeedError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`${path} answered ${status}${problems.length ? `: ${problems.slice(0, 3).join('; ')}` : ''}`);
    this.name = 'FeedError';
  }
}

export interface FeedClient {
  putMap(yaml: string): Promise<void>;
  /** Current map triggers of the service (GET /api/system-map). */
  triggers(): Promise<string[]>;
  postChanges(changes: Array<Record<string, unknown>>): Promise<void>;
  postLogs(lines: Array<Record<string, unknown>>): Promise<void>;
  postEvent(event: Record<string, unknown>): Promise<{ eventId: string; duplicate: boolean }>;
  /** The first report for an event, or null if none appears within timeoutMs. */
  waitForReport(input: {
    eventId: string;
    correlationId: string | null;
    timeoutMs: number;
  }): Promise<Report | null>;
}

/**
 * Talks to a running TracePulse over its public HTTP API with fetch. Bodies are split so that
 * none exceeds maxBodyBytes (the server answers 413 past TRACEPULSE_MAX_BODY_BYTES).
 */
export function createFeedClient(options: {
  url: string;
  apiKey?: string;
  maxBodyBytes?: number;
}): FeedClient {
  const base = options.url.replace(/\/+$/, '');
  const limit = Math.max(1024, Math.floor((options.maxBodyBytes ?? 64 * 1024) * 0.9));
  const headers = (type?: string): Record<string, string> => ({
    ...(type ? { 'content-type': type } : {}),
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  });
  const call = async (method: string, path: string, body?: string, type?: string): Promise<unknown> => {
    const res = await fetch(`${base}${path}`, { method, headers: headers(type), body });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    if (!res.ok) {
      const problems = (json as { problems?: unknown })?.problems;
      throw new FeedError(
        res.status,
        `${method} ${path}`,
        Array.isArray(problems)
          ? problems.map((p) => (typeof p === 'string' ? p : JSON.stringify(p)))
          : [text.slice(0, 200)],
      );
    }
    return json;
  };
  /** Groups serialised items into bodies under the limit (one oversized item goes alone). */
  const chunks = (items: string[], overhead: number): string[][] => {
    const out: string[][] = [];
    let cur: string[] = [];
    let size = overhead;
    for (const item of items) {
      if (cur.length && size + item.length + 1 > limit) {
        out.push(cur);
        cur = [];
        size = overhead;
      }
      cur.push(item);
      size += item.length + 1;
    }
    if (cur.length) out.push(cur);
    return out;
  };

  return {
    async putMap(yaml) {
      await call('PUT', '/api/system-map', yaml, 'application/yaml');
    },
    async triggers() {
      const r = (await call('GET', '/api/system-map')) as { triggers?: string[] };
      return r.triggers ?? [];
    },
    async postChanges(changes) {
      for (const group of chunks(
        changes.map((c) => JSON.stringify(c)),
        2,
      ))
        await call('POST', '/api/changes', `[${group.join(',')}]`, 'application/json');
    },
    async postLogs(lines) {
      for (const group of chunks(
        lines.map((l) => JSON.stringify(l)),
        0,
      ))
        await call('POST', '/api/logs', group.join('\n'), 'application/x-ndjson');
    },
    async postEvent(event) {
      const r = (await call('POST', '/webhook/event', JSON.stringify(event), 'application/json')) as {
        eventId: string;
        duplicate?: boolean;
      };
      return { eventId: r.eventId, duplicate: r.duplicate === true };
    },
    async waitForReport({ eventId, correlationId, timeoutMs }) {
      const deadline = performance.now() + timeoutMs;
      const query = correlationId
        ? `/api/reports?correlationId=${encodeURIComponent(correlationId)}&limit=50`
        : '/api/reports?limit=100';
      // Short first waits: on an idle service a report is usually there within a few milliseconds.
      for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
        const r = (await call('GET', query)) as { reports?: Report[] };
        const found = r.reports?.find((x) => x.eventId === eventId);
        if (found) return found;
        if (performance.now() + wait > deadline) return null;
        await Bun.sleep(wait);
      }
    },
  };
}
