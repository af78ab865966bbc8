import {
  errorOf,
  forEachLimit,
  type Outcome,
  outcomeOfStatus,
  parseRetryAfter,
  type SendResult,
  type Transport,
} from './transport.js';
import type { Item, LogItem } from './types.js';

export interface HttpTransportOptions {
  /** TracePulse base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  apiKey?: string;
  /** Concurrent POST /webhook/event requests (there is no batch form). */
  concurrency?: number;
  timeoutMs?: number;
  /** Largest POST /api/logs body; TracePulse refuses more than 64 KiB by default. */
  maxBodyBytes?: number;
  fetch?: typeof fetch;
}

function encode(item: Item): string | undefined {
  try {
    return JSON.stringify(item.body);
  } catch {
    return undefined; // a BigInt or a cycle: retrying would not help
  }
}

interface Reply {
  outcome: Outcome;
  error?: Error;
  retryAfterMs?: number;
  /** Response body of a 2xx, for partial acceptance. */
  text?: string;
}

/**
 * TracePulse keeps the good lines of a partly bad /api/logs batch and answers 200 with
 * `problems: ["[i] path: message", ...]`; returns the indexes (within the batch) it refused.
 */
function refusedLines(text: string | undefined): Map<number, string> {
  const refused = new Map<number, string>();
  if (!text?.includes('"problems"')) return refused;
  try {
    const body = JSON.parse(text) as { problems?: unknown };
    if (!Array.isArray(body.problems)) return refused;
    for (const p of body.problems) {
      const m = typeof p === 'string' ? /^\[(\d+)\]\s*(.*)$/.exec(p) : null;
      if (m) refused.set(Number(m[1]), m[2] ?? '');
    }
  } catch {
    // not JSON: nothing to learn
  }
  return refused;
}

/** Sends events one request each to POST /webhook/event and log lines as NDJSON batches to POST /api/logs. */
export function createHttpTransport({
  url,
  apiKey,
  concurrency = 8,
  timeoutMs = 5000,
  maxBodyBytes = 60 * 1024,
  fetch: doFetch = globalThis.fetch,
}: HttpTransportOptions): Transport {
  const base = url.replace(/\/+$/, '');
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const encoder = new TextEncoder();

  // The Idempotency-Key each log line was last posted under. A line whose answer was lost goes out
  // again under that key, with no line the key did not cover, so TracePulse answers the retry from
  // the stored batch instead of storing it twice (a subset is safe: the key's batch holds all of it).
  const batchKeys = new WeakMap<Item, string>();

  async function post(
    path: string,
    body: string,
    contentType: string,
    signal: AbortSignal,
    idempotencyKey?: string,
  ): Promise<Reply> {
    try {
      const res = await doFetch(`${base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': contentType,
          ...auth,
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      const text = await res.text();
      const outcome = outcomeOfStatus(res.status);
      if (outcome === 'ok') return { outcome, text };
      return {
        outcome,
        error: new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 300)}`),
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
      };
    } catch (e) {
      return { outcome: 'retry', error: new Error(`POST ${path}: ${errorOf(e).message}`, { cause: e }) };
    }
  }

  /**
   * Splits log lines into NDJSON bodies under the size limit, each with its Idempotency-Key: lines
   * sent before go together under their old key (a part of a body that fitted fits), new lines get
   * a fresh key per body. A line alone over the limit is its own chunk.
   */
  function chunkLogs(logs: Array<{ index: number; item: LogItem }>, unencodable: number[]) {
    type Chunk = { key: string; indexes: number[]; lines: string[] };
    const chunks: Chunk[] = [];
    const retried = new Map<string, Chunk>();
    let current: Chunk | undefined;
    let bytes = 0;
    const chunkFor = (item: LogItem, line: string): Chunk => {
      const sentAs = batchKeys.get(item);
      if (sentAs !== undefined) {
        let chunk = retried.get(sentAs);
        if (!chunk) {
          chunk = { key: sentAs, indexes: [], lines: [] };
          retried.set(sentAs, chunk);
          chunks.push(chunk);
        }
        return chunk;
      }
      const size = encoder.encode(line).length + 1;
      if (!current || (current.lines.length > 0 && bytes + size > maxBodyBytes)) {
        current = { key: globalThis.crypto.randomUUID(), indexes: [], lines: [] };
        chunks.push(current);
        bytes = 0;
      }
      bytes += size;
      return current;
    };
    for (const { index, item } of logs) {
      const line = encode(item);
      if (line === undefined) {
        unencodable.push(index);
        continue;
      }
      const chunk = chunkFor(item, line);
      chunk.indexes.push(index);
      chunk.lines.push(line);
      batchKeys.set(item, chunk.key);
    }
    return chunks;
  }

  return {
    kind: 'http',
    async send(items: Item[], signal: AbortSignal): Promise<SendResult> {
      const outcomes: Outcome[] = new Array(items.length).fill('retry');
      let error: Error | undefined;
      let retryAfterMs: number | undefined;
      const record = (index: number, reply: Reply) => {
        outcomes[index] = reply.outcome;
        error ??= reply.error;
        if (reply.retryAfterMs !== undefined) retryAfterMs = Math.max(retryAfterMs ?? 0, reply.retryAfterMs);
      };

      const events: number[] = [];
      const logs: Array<{ index: number; item: LogItem }> = [];
      items.forEach((item, index) => {
        if (item.kind === 'event') events.push(index);
        else logs.push({ index, item });
      });

      let away = false;
      const sendEvents = forEachLimit(events.length, concurrency, async (k) => {
        if (away) return; // destination away: do not knock once per queued event
        const index = events[k]!;
        const body = encode(items[index]!);
        if (body === undefined) {
          record(index, { outcome: 'reject', error: new Error('event is not JSON-encodable') });
          return;
        }
        const reply = await post('/webhook/event', body, 'application/json', signal);
        record(index, reply);
        if (reply.outcome === 'retry') away = true;
      });
      const unencodable: number[] = [];
      const chunks = chunkLogs(logs, unencodable);
      for (const index of unencodable) {
        record(index, { outcome: 'reject', error: new Error('log line is not JSON-encodable') });
      }
      const sendLogs = (async () => {
        for (const chunk of chunks) {
          const reply = await post(
            '/api/logs',
            `${chunk.lines.join('\n')}\n`,
            'application/x-ndjson',
            signal,
            chunk.key,
          );
          if (reply.outcome === 'reject' && chunk.lines.length > 1) {
            // One bad line refuses the whole body (nothing stored, key unused): resend one by one,
            // each line a batch with its own key, so only that line is lost.
            for (let i = 0; i < chunk.lines.length; i++) {
              const index = chunk.indexes[i]!;
              const key = globalThis.crypto.randomUUID();
              batchKeys.set(items[index]!, key);
              record(
                index,
                await post('/api/logs', `${chunk.lines[i]}\n`, 'application/x-ndjson', signal, key),
              );
            }
          } else {
            const refused = reply.outcome === 'ok' ? refusedLines(reply.text) : new Map<number, string>();
            chunk.indexes.forEach((index, i) => {
              const problem = refused.get(i);
              record(
                index,
                problem === undefined
                  ? reply
                  : { outcome: 'reject', error: new Error(`POST /api/logs: ${problem}`) },
              );
            });
          }
          if (reply.outcome === 'retry') break; // destination away: leave the rest queued
        }
      })();
      await Promise.all([sendEvents, sendLogs]);
      return { outcomes, error, retryAfterMs };
    },
    async close() {},
  };
}
