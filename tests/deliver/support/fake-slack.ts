// A local server speaking the Slack Web API wire protocol (form-encoded or JSON POSTs to
// /api/<method>, JSON answers {ok:true,...} / {ok:false,error}, 429 with Retry-After), with
// switches for outages, rate limits and answers lost after the post was made.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  metadata: { event_type: string; event_payload: Record<string, unknown> } | null;
  thread_ts: string | null;
}

export interface FakeSlack {
  url: string;
  port: number;
  token: string;
  messages: PostedMessage[];
  calls: Array<{ method: string; at: number }>;
  /** Next n postMessage calls get 429 with this Retry-After (seconds). */
  rateLimit(n: number, retryAfterS: number): void;
  /** Next n postMessage calls are carried out, then the connection is dropped without an answer. */
  dropAfterPost(n: number): void;
  /** Next n postMessage calls are carried out, then never answered (the client times out). */
  hangAfterPost(n: number): void;
  /** Next n calls of `method` answer {ok:false,error}. */
  failWith(method: string, n: number, error: string): void;
  /** Stops listening (connection refused) until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
  /** Top-level messages (not thread replies). */
  topLevel(): PostedMessage[];
}

const channelId = (name: string) =>
  /^[CGD][A-Z0-9]{6,}$/.test(name)
    ? name
    : `C${createHash('sha1').update(name.replace(/^#/, '')).digest('hex').slice(0, 9).toUpperCase()}`;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(raw || '{}');
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    if ((k === 'blocks' || k === 'metadata') && v) out[k] = JSON.parse(v);
    else out[k] = v;
  }
  return out;
}

export async function startFakeSlack(options: { port?: number; token?: string } = {}): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-test-token';
  const messages: PostedMessage[] = [];
  const calls: Array<{ method: string; at: number }> = [];
  let limited = { n: 0, retryAfter: 1 };
  let drops = 0;
  let hangs = 0;
  const failures = new Map<string, { n: number; error: string }>();
  let tsSeq = 0;
  const names = new Set<string>(['debug']);

  const json = (res: ServerResponse, body: unknown, status = 200, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const body = await readBody(req);
    calls.push({ method, at: Date.now() });
    const auth = req.headers.authorization ?? (body.token ? `Bearer ${body.token}` : '');
    if (auth !== `Bearer ${token}`) return json(res, { ok: false, error: 'invalid_auth' });
    const fail = failures.get(method);
    if (fail && fail.n > 0) {
      fail.n--;
      return json(res, { ok: false, error: fail.error });
    }
    switch (method) {
      case 'chat.postMessage': {
        if (limited.n > 0) {
          limited.n--;
          return json(res, { ok: false, error: 'ratelimited' }, 429, {
            'retry-after': String(limited.retryAfter),
          });
        }
        const name = String(body.channel ?? '');
        if (!name) return json(res, { ok: false, error: 'channel_not_found' });
        names.add(name.replace(/^#/, ''));
        const id = channelId(name);
        const thread = typeof body.thread_ts === 'string' ? body.thread_ts : null;
        if (thread && !messages.some((m) => m.channel === id && m.ts === thread))
          return json(res, { ok: false, error: 'thread_not_found' });
        tsSeq++;
        // Like Slack's: epoch seconds of the post, made unique by the fraction.
        const ts = `${Math.floor(Date.now() / 1000)}.${String(tsSeq).padStart(6, '0')}`;
        const msg: PostedMessage = {
          channel: id,
          ts,
          text: String(body.text ?? ''),
          blocks: (body.blocks as unknown[]) ?? [],
          metadata: (body.metadata as PostedMessage['metadata']) ?? null,
          thread_ts: thread,
        };
        messages.push(msg);
        if (hangs > 0) {
          hangs--;
          return;
        }
        if (drops > 0) {
          drops--;
          // The post is made, the answer never arrives.
          req.socket.destroy();
          return;
        }
        return json(res, { ok: true, channel: id, ts, message: { text: msg.text, ts } });
      }
      case 'conversations.list': {
        const channels = [...names].map((n) => ({ id: channelId(n), name: n, is_channel: true }));
        return json(res, { ok: true, channels, response_metadata: { next_cursor: '' } });
      }
      case 'conversations.history':
      case 'conversations.replies': {
        const ch = String(body.channel ?? '');
        const oldest = Number(body.oldest ?? 0);
        const withMeta = body.include_all_metadata === 'true' || body.include_all_metadata === true;
        const threadTs = method === 'conversations.replies' ? String(body.ts ?? '') : null;
        const found = messages
          .filter((m) => m.channel === ch && Number(m.ts) >= oldest)
          .filter((m) => (threadTs ? m.ts === threadTs || m.thread_ts === threadTs : m.thread_ts === null))
          .map((m) => ({
            type: 'message',
            ts: m.ts,
            text: m.text,
            thread_ts: m.thread_ts ?? undefined,
            ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
          }))
          .reverse();
        return json(res, {
          ok: true,
          messages: found,
          has_more: false,
          response_metadata: { next_cursor: '' },
        });
      }
      case 'auth.test':
        return json(res, { ok: true, user_id: 'U0TRACEBOT', team_id: 'T0STATION' });
      default:
        return json(res, { ok: false, error: 'unknown_method' });
    }
  };

  let server: Server | null = null;
  let port = options.port ?? 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((req, res) => {
        handle(req, res).catch((err) => json(res, { ok: false, error: `fake_error: ${String(err)}` }, 500));
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const a = s.address();
        if (a && typeof a === 'object') port = a.port;
        server = s;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      if (!s) return resolve();
      s.closeAllConnections();
      s.close(() => resolve());
    });
  await listen();

  return {
    get url() {
      return `http://127.0.0.1:${port}/api/`;
    },
    get port() {
      return port;
    },
    token,
    messages,
    calls,
    rateLimit: (n, retryAfterS) => {
      limited = { n, retryAfter: retryAfterS };
    },
    dropAfterPost: (n) => {
      drops = n;
    },
    hangAfterPost: (n) => {
      hangs = n;
    },
    failWith: (method, n, error) => {
      failures.set(method, { n, error });
    },
    down: close,
    up: listen,
    stop: close,
    topLevel: () => messages.filter((m) => m.thread_ts === null),
  };
}
