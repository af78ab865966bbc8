/**
 * A small Loki on port 0 that speaks the real HTTP API for what TracePulse uses: POST
 * /loki/api/v1/push (JSON) to load it, GET /loki/api/v1/query_range with a subset of LogQL (a
 * stream selector of =, !=, =~, !~ matchers, then `|= "text"` line filters or `| l=~"re" or ...`
 * label filters), and its answer format ({status, data: {resultType: "streams", result}}).
 * Failure modes for tests: a delay, a fixed status (429, 503) or a garbage body.
 */
export interface LokiEntry {
  labels: Record<string, string>;
  tsNs: bigint;
  line: string;
}

export interface FakeLoki {
  url: string;
  entries: LokiEntry[];
  requests: Array<{ path: string; params: URLSearchParams; headers: Headers }>;
  mode: { delayMs: number; status: number | null; garbage: boolean; refuseTail: boolean };
  /** Open tail sockets. */
  tails(): number;
  /** Closes every tail socket (a dropped connection). */
  dropTails(): void;
  push(labels: Record<string, string>, tsMs: number, line: string): void;
  stop(): void;
}

const goRegex = (re: string): RegExp => {
  const ci = re.startsWith('(?i)');
  return new RegExp(`^(?:${ci ? re.slice(4) : re})$`, ci ? 'i' : '');
};
const unquote = (s: string): string => JSON.parse(s) as string;

type Pred = (e: LokiEntry) => boolean;

function compile(query: string): Pred {
  const m = /^\s*\{([^}]*)\}(.*)$/s.exec(query);
  if (!m) throw new Error('parse error: expected a stream selector');
  const preds: Pred[] = [];
  const matcher = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*,?/gy;
  const sel = m[1]!;
  matcher.lastIndex = 0;
  while (matcher.lastIndex < sel.length) {
    const mm = matcher.exec(sel);
    if (!mm) throw new Error(`parse error in selector at: ${sel.slice(matcher.lastIndex)}`);
    const [, name, op, lit] = mm as unknown as [string, string, string, string];
    const v = unquote(lit);
    const re = op.includes('~') ? goRegex(v) : null;
    preds.push((e) => {
      const x = e.labels[name] ?? '';
      if (op === '=') return x === v;
      if (op === '!=') return x !== v;
      if (op === '=~') return re!.test(x);
      return !re!.test(x);
    });
  }
  let rest = m[2]!.trim();
  while (rest) {
    const lf = /^\|=\s*("(?:[^"\\]|\\.)*")\s*/.exec(rest);
    if (lf) {
      const needle = unquote(lf[1]!);
      preds.push((e) => e.line.includes(needle));
      rest = rest.slice(lf[0].length);
      continue;
    }
    const lab = /^\|\s*((?:[A-Za-z_][A-Za-z0-9_]*=~"(?:[^"\\]|\\.)*"(?:\s+or\s+)?)+)\s*/.exec(rest);
    if (lab) {
      const alts = [...lab[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=~("(?:[^"\\]|\\.)*")/g)].map(
        (a) => [a[1]!, goRegex(unquote(a[2]!))] as const,
      );
      preds.push((e) => alts.some(([n, re]) => re.test(e.labels[n] ?? '')));
      rest = rest.slice(lab[0].length);
      continue;
    }
    throw new Error(`parse error at: ${rest}`);
  }
  return (e) => preds.every((p) => p(e));
}

export function startFakeLoki(): FakeLoki {
  const entries: LokiEntry[] = [];
  const requests: FakeLoki['requests'] = [];
  const mode = { delayMs: 0, status: null as number | null, garbage: false, refuseTail: false };
  type Tail = { pred: Pred; history: LokiEntry[] };
  const sockets = new Set<import('bun').ServerWebSocket<Tail>>();
  const frame = (list: LokiEntry[]) => {
    const byStream = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
    for (const e of list) {
      const key = JSON.stringify(Object.entries(e.labels).sort());
      let s = byStream.get(key);
      if (!s) {
        s = { stream: e.labels, values: [] };
        byStream.set(key, s);
      }
      s.values.push([String(e.tsNs), e.line]);
    }
    return JSON.stringify({ streams: [...byStream.values()], dropped_entries: null });
  };
  const server = Bun.serve<Tail>({
    websocket: {
      open(ws) {
        sockets.add(ws);
        if (ws.data.history.length) ws.send(frame(ws.data.history));
      },
      message() {},
      close(ws) {
        sockets.delete(ws);
      },
    },
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const u = new URL(req.url);
      requests.push({ path: u.pathname, params: u.searchParams, headers: req.headers });
      if (mode.delayMs) await Bun.sleep(mode.delayMs);
      if (mode.status) return new Response('too many outstanding requests', { status: mode.status });
      if (mode.garbage) return new Response('<html>gateway</html>', { status: 200 });
      if (u.pathname === '/loki/api/v1/tail') {
        if (mode.refuseTail) return new Response('unavailable', { status: 503 });
        const pred = compile(u.searchParams.get('query') ?? '');
        const start = BigInt(u.searchParams.get('start') ?? '0');
        const limit = Number(u.searchParams.get('limit') ?? 100);
        // Loki's tail first sends what it has since start (up to limit), then live entries.
        const history = entries
          .filter((e) => e.tsNs >= start && pred(e))
          .sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0))
          .slice(-limit);
        if (!server.upgrade(req, { data: { pred, history } }))
          return new Response('upgrade failed', { status: 400 });
        return undefined as unknown as Response;
      }
      if (u.pathname === '/loki/api/v1/push' && req.method === 'POST') {
        const body = (await req.json()) as {
          streams: Array<{ stream: Record<string, string>; values: [string, string][] }>;
        };
        for (const s of body.streams)
          for (const [ns, line] of s.values) entries.push({ labels: s.stream, tsNs: BigInt(ns), line });
        return new Response(null, { status: 204 });
      }
      if (u.pathname === '/loki/api/v1/query_range') {
        let pred: Pred;
        try {
          pred = compile(u.searchParams.get('query') ?? '');
        } catch (err) {
          return new Response(String(err), { status: 400 });
        }
        const start = BigInt(u.searchParams.get('start') ?? '0');
        const end = BigInt(u.searchParams.get('end') ?? `${Date.now()}000000`);
        const limit = Number(u.searchParams.get('limit') ?? 100);
        const backward = (u.searchParams.get('direction') ?? 'backward') === 'backward';
        const hits = entries
          .filter((e) => e.tsNs >= start && e.tsNs < end && pred(e))
          .sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
        if (backward) hits.reverse();
        const byStream = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
        for (const e of hits.slice(0, limit)) {
          const key = JSON.stringify(Object.entries(e.labels).sort());
          let s = byStream.get(key);
          if (!s) {
            s = { stream: e.labels, values: [] };
            byStream.set(key, s);
          }
          s.values.push([String(e.tsNs), e.line]);
        }
        return Response.json({
          status: 'success',
          data: { resultType: 'streams', result: [...byStream.values()], stats: {} },
        });
      }
      return new Response('404 page not found', { status: 404 });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    entries,
    requests,
    mode,
    push(labels, tsMs, line) {
      const e = { labels, tsNs: BigInt(tsMs) * 1_000_000n + 123n, line };
      entries.push(e);
      for (const ws of sockets) if (ws.data.pred(e)) ws.send(frame([e]));
    },
    tails: () => sockets.size,
    dropTails: () => {
      for (const ws of sockets) ws.close(1011, 'ingester restarting');
    },
    stop: () => server.stop(true),
  };
}
