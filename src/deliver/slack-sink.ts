import type { ChatPostMessageArguments, FetchFunction, WebClient } from '@slack/web-api';
import type { Logger } from '../core/logger.ts';
import type { SystemGraph } from '../map/graph.ts';
import { digestOf } from './report-digest.ts';
import {
  DeliveryError,
  isTransientStatus,
  networkFailure,
  type OutboxMessage,
  permanent,
  type RelatedMessage,
  type SendContext,
  type Sink,
  transient,
} from './sink.ts';
import { slackMessage } from './slack-message.ts';

export interface SlackSinkOptions {
  token: string;
  /** Web API base URL, ending with '/'. */
  apiUrl: string;
  /** Channel used when the map names none for the services involved. */
  defaultChannel: string;
  publicUrl: string | null;
  graph: () => SystemGraph;
  timeoutMs: number;
  logger: Logger;
}

/** What a delivered Slack message remembers: where it is, so replies can thread under it. */
export interface SlackResult {
  channel: string;
  ts: string;
  threadTs?: string;
  /** True when the message was found already posted (an earlier try's answer was lost). */
  recovered?: boolean;
}

/** Marks our messages so a retry can find an earlier post (chat.postMessage `metadata`). */
export const slackEventType = 'tracepulse_report';

/** Platform error codes worth retrying (https://api.slack.com/methods/chat.postMessage#errors). */
const transientSlackErrors = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'ratelimited',
  'rate_limited',
]);

/** Looking for an earlier post reads at most this many history pages. */
const maxLookupPages = 5;

/**
 * Posts reports to Slack with Block Kit. Updates (LLM refinements, a growing storm) go as a
 * reply in the thread of the report's first message, never as a new alert. Idempotency: each
 * post carries its key in message metadata; when an earlier try may have been posted without
 * our seeing the answer, the channel (or thread) history is searched for the key first.
 */
export async function createSlackSink(o: SlackSinkOptions): Promise<Sink> {
  const { WebClient: Client, ErrorCode, LogLevel } = await import('@slack/web-api');
  // The worker's per-try signal, handed to the SDK's fetch (one send at a time per channel).
  let currentSignal: AbortSignal | null = null;
  const log = o.logger;
  const client: WebClient = new Client(o.token, {
    slackApiUrl: o.apiUrl,
    // The outbox does the retrying and honours Retry-After itself.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: o.timeoutMs,
    logLevel: LogLevel.ERROR,
    logger: {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (...m: unknown[]) => log.debug('slack sdk', { message: m.map(String).join(' ') }),
      setLevel: () => {},
      getLevel: () => LogLevel.ERROR,
      setName: () => {},
    },
    fetch: ((url: string, init?: RequestInit) =>
      fetch(url, {
        ...init,
        signal: currentSignal
          ? init?.signal
            ? AbortSignal.any([init.signal, currentSignal])
            : currentSignal
          : init?.signal,
      })) as unknown as FetchFunction,
  });
  const channelIds = new Map<string, string>();

  const fail = (err: unknown, what: string): DeliveryError => {
    const e = err as {
      code?: string;
      retryAfter?: number;
      data?: { error?: string; response_metadata?: { retryAfter?: number } };
      statusCode?: number;
      original?: unknown;
    };
    if (e.code === ErrorCode.RateLimitedError)
      return new DeliveryError('rate_limited', `${what}: HTTP 429`, {
        retryAfterMs: (e.retryAfter ?? 1) * 1000,
      });
    if (e.code === ErrorCode.PlatformError) {
      const code = e.data?.error ?? 'unknown_error';
      const retryAfter = e.data?.response_metadata?.retryAfter;
      if (code === 'ratelimited' && retryAfter !== undefined)
        return new DeliveryError('rate_limited', `${what}: ${code}`, { retryAfterMs: retryAfter * 1000 });
      return transientSlackErrors.has(code)
        ? transient(`${what}: ${code}`, { cause: err })
        : permanent(`${what}: ${code}`, err);
    }
    if (e.code === ErrorCode.HTTPError) {
      const status = e.statusCode ?? 0;
      return isTransientStatus(status)
        ? transient(`${what}: HTTP ${status}`, { cause: err, maybeSent: status >= 500 || status === 408 })
        : permanent(`${what}: HTTP ${status}`, err);
    }
    if (e.code === ErrorCode.RequestError)
      return (
        networkFailure(e.original, what) ??
        transient(`${what}: request failed`, { cause: err, maybeSent: true })
      );
    return networkFailure(err, what) ?? permanent(`${what}: ${String(err)}`, err);
  };

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw fail(err, what);
    }
  };

  /** Channel id for a name: history lookups need ids; names are resolved once with conversations.list. */
  async function channelId(channel: string): Promise<string | null> {
    if (/^[CGD][A-Z0-9]{6,}$/.test(channel)) return channel;
    const known = channelIds.get(channel);
    if (known) return known;
    const name = channel.replace(/^#/, '');
    let cursor: string | undefined;
    for (let page = 0; page < 20; page++) {
      const r = await call('conversations.list', () =>
        client.conversations.list({
          types: 'public_channel,private_channel',
          limit: 200,
          cursor,
          exclude_archived: true,
        }),
      );
      const hit = r.channels?.find((c) => c.name === name);
      if (hit?.id) {
        channelIds.set(channel, hit.id);
        return hit.id;
      }
      cursor = r.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return null;
  }

  /** An earlier post of this message (same key in its metadata), if any. */
  async function findEarlier(
    message: OutboxMessage,
    channel: string,
    threadTs: string | undefined,
  ): Promise<SlackResult | null> {
    const id = await channelId(channel);
    if (!id) return null;
    const oldest = String(Math.floor(message.createdAt / 1000) - 60);
    let cursor: string | undefined;
    for (let page = 0; page < maxLookupPages; page++) {
      const r = threadTs
        ? await call('conversations.replies', () =>
            client.conversations.replies({
              channel: id,
              ts: threadTs,
              oldest,
              include_all_metadata: true,
              limit: 200,
              cursor,
            }),
          )
        : await call('conversations.history', () =>
            client.conversations.history({
              channel: id,
              oldest,
              include_all_metadata: true,
              limit: 200,
              cursor,
            }),
          );
      for (const m of r.messages ?? []) {
        const payload = m.metadata?.event_payload as { key?: unknown } | undefined;
        if (m.metadata?.event_type === slackEventType && payload?.key === message.key && m.ts)
          return { channel: id, ts: m.ts, threadTs, recovered: true };
      }
      cursor = r.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return null;
  }

  /** Where a message goes: a thread under its parent, or a channel chosen from the map. */
  function target(message: OutboxMessage, ctx: SendContext): { channel: string; threadTs?: string } {
    const env = message.payload;
    const report = env.report;
    const graph = o.graph();
    const routed =
      graph.services.get(report.hypotheses[0]?.service ?? '')?.channel ??
      graph.services.get(report.service)?.channel ??
      o.defaultChannel;
    let parent: RelatedMessage | null = null;
    if (message.kind === 'created') {
      // A later trigger of the same storm joins the thread of the storm's first post.
      const anchor = report.incidentId ? ctx.incidentAnchor(report.incidentId) : null;
      if (anchor && anchor.key !== message.key) parent = anchor;
    } else {
      parent = ctx.related(`slack:${report.id}:created`);
      if (!parent && env.incident) parent = ctx.incidentAnchor(env.incident.id);
    }
    if (!parent) return { channel: routed };
    if (parent.status === 'dead')
      throw permanent(`the message this one replies to (outbox id ${parent.id}) is dead; retry it first`);
    const r = parent.result as SlackResult | null;
    if (parent.status !== 'sent' || !r?.ts)
      throw new DeliveryError('deferred', `waiting for outbox id ${parent.id} to be posted`, {
        retryAfterMs: 1000,
      });
    return { channel: r.channel, threadTs: r.threadTs ?? r.ts };
  }

  return {
    channel: 'slack',
    timeoutMs: o.timeoutMs,
    coalesceIncidents: true,
    accepts: () => true,
    async send(message, ctx) {
      const { channel, threadTs } = target(message, ctx);
      currentSignal = ctx.signal;
      try {
        if (message.maybeSent) {
          const earlier = await findEarlier(message, channel, threadTs);
          if (earlier) {
            log.info('message was already posted; not posting again', { key: message.key, ts: earlier.ts });
            return earlier;
          }
        }
        const report = message.payload.report;
        const graph = o.graph();
        const owners = [report.hypotheses[0]?.service, report.service].flatMap(
          (s) => (s ? graph.services.get(s)?.owners : undefined) ?? [],
        );
        const { text, blocks } = slackMessage(
          digestOf(message.payload, o.publicUrl),
          message.kind === 'created' ? owners : [],
        );
        const args = {
          channel,
          text,
          blocks,
          thread_ts: threadTs,
          unfurl_links: false,
          unfurl_media: false,
          metadata: {
            event_type: slackEventType,
            event_payload: { key: message.key, report_id: report.id, revision: report.revision },
          },
        } as ChatPostMessageArguments;
        const r = await call('chat.postMessage', () => client.chat.postMessage(args));
        if (!r.ts || !r.channel) throw transient('chat.postMessage: answer without ts', { maybeSent: true });
        if (!channelIds.has(channel)) channelIds.set(channel, r.channel);
        const result: SlackResult = { channel: r.channel, ts: r.ts };
        if (threadTs) result.threadTs = threadTs;
        return result;
      } finally {
        currentSignal = null;
      }
    },
  };
}
