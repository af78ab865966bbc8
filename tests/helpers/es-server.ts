/**
 * A small Elasticsearch on port 0 for what TracePulse sends: POST /_bulk (NDJSON index/create
 * actions) to load it, and POST /INDEX/_search (comma lists and * patterns) evaluating the query
 * DSL subset of bool {filter, should, must, minimum_should_match}, term, terms and range (ISO or
 * epoch_millis), sorted by one or more fields (a date-time string sorts as epoch ms, `_id` and
 * `_index` as the metadata) with `search_after`, answered as { took, timed_out, _shards, hits: { hits } }
 * with each hit's `sort` values. Failure modes: a delay, a fixed status, a garbage body, and `cut`:
 * the answer's connection dropped halfway through the body.
 */
export interface FakeEs {
  url: string;
  docs: Array<{ index: string; id: string; source: Record<string, unknown> }>;
  requests: Array<{ path: string; headers: Headers; body: unknown }>;
  /** `cut`: _search answers dropped halfway; `cutBulk`: _bulk stores, then its answer is dropped. */
  mode: { delayMs: number; status: number | null; garbage: boolean; cut: boolean; cutBulk: boolean };
  stop(): void;
}

const get = (doc: Record<string, unknown>, path: string): unknown => {
  if (path in doc) return doc[path];
  let cur: unknown = doc;
  for (const p of path.split('.'))
    cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
};
const toMs = (v: unknown): number =>
  typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Date.parse(String(v));

type Q = Record<string, unknown>;
function matches(doc: Record<string, unknown>, q: Q): boolean {
  const [kind, arg] = Object.entries(q)[0] as [string, Q];
  switch (kind) {
    case 'match_all':
      return true;
    case 'term': {
      const [f, v] = Object.entries(arg)[0]!;
      const want = v && typeof v === 'object' ? (v as Q).value : v;
      return get(doc, f) === want;
    }
    case 'terms': {
      const [f, vs] = Object.entries(arg)[0]! as [string, unknown[]];
      return vs.includes(get(doc, f));
    }
    case 'range': {
      const [f, r] = Object.entries(arg)[0]! as [string, Q];
      const x = toMs(get(doc, f));
      if (r.gte !== undefined && !(x >= toMs(r.gte))) return false;
      if (r.gt !== undefined && !(x > toMs(r.gt))) return false;
      if (r.lte !== undefined && !(x <= toMs(r.lte))) return false;
      if (r.lt !== undefined && !(x < toMs(r.lt))) return false;
      return true;
    }
    case 'bool': {
      const list = (k: string) => {
        const v = arg[k];
        return v === undefined ? [] : Array.isArray(v) ? (v as Q[]) : [v as Q];
      };
      if (![...list('filter'), ...list('must')].every((c) => matches(doc, c))) return false;
      if (list('must_not').some((c) => matches(doc, c))) return false;
      const should = list('should');
      const min =
        (arg.minimum_should_match as number | undefined) ??
        (should.length && !list('filter').length && !list('must').length ? 1 : 0);
      return should.filter((c) => matches(doc, c)).length >= min;
    }
    default:
      throw new Error(`unsupported query ${kind}`);
  }
}

type SortValue = number | string | null;
const sortValue = (
  d: { index: string; id: string; source: Record<string, unknown> },
  f: string,
): SortValue => {
  if (f === '_id') return d.id;
  if (f === '_index') return d.index;
  const v = get(d.source, f);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return /^\d{4}-\d\d-\d\dT/.test(v) ? Date.parse(v) : v;
  return null;
};
/** Compares sort tuples, ascending or descending per field; missing values sort last. */
const compare = (a: SortValue[], b: SortValue[], orders: string[]): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    const c = x < y ? -1 : 1;
    return orders[i] === 'desc' ? -c : c;
  }
  return 0;
};

const indexMatches = (pattern: string, index: string) =>
  pattern
    .split(',')
    .some((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(index));

/** Half the answer, then the connection is dropped. */
function cutAnswer(answer: string): Response {
  const bytes = new TextEncoder().encode(answer);
  return new Response(
    new ReadableStream({
      async pull(c) {
        c.enqueue(bytes.subarray(0, bytes.length >> 1));
        await Bun.sleep(5);
        c.error(new Error('connection dropped'));
      },
    }),
    { headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) } },
  );
}

export function startFakeEs(): FakeEs {
  const docs: FakeEs['docs'] = [];
  const requests: FakeEs['requests'] = [];
  const mode = { delayMs: 0, status: null as number | null, garbage: false, cut: false, cutBulk: false };
  let seq = 0;
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const u = new URL(req.url);
      const text = await req.text();
      let body: unknown = text;
      try {
        body = text && !u.pathname.endsWith('/_bulk') ? JSON.parse(text) : text;
      } catch {}
      requests.push({ path: u.pathname, headers: req.headers, body });
      if (mode.delayMs) await Bun.sleep(mode.delayMs);
      if (mode.status)
        return Response.json(
          { error: { type: 'es_rejected_execution_exception' }, status: mode.status },
          { status: mode.status },
        );
      if (mode.garbage) return new Response('<html>proxy error</html>');
      if (u.pathname.endsWith('/_bulk') && req.method === 'POST') {
        const lines = text.split('\n').filter(Boolean);
        const items = [];
        let errors = false;
        for (let i = 0; i < lines.length; i += 2) {
          const action = JSON.parse(lines[i]!) as Record<string, { _index?: string; _id?: string }>;
          const [op, meta] = Object.entries(action)[0]!;
          const index = meta._index ?? u.pathname.split('/')[1]!;
          const id = meta._id ?? `doc-${++seq}`;
          // `create` of an id the index already holds is a version conflict, as in Elasticsearch.
          if (op === 'create' && docs.some((d) => d.index === index && d.id === id)) {
            errors = true;
            items.push({
              [op]: {
                _index: index,
                _id: id,
                status: 409,
                error: { type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict` },
              },
            });
            continue;
          }
          docs.push({ index, id, source: JSON.parse(lines[i + 1]!) });
          items.push({ [op]: { _index: index, _id: id, status: 201, result: 'created' } });
        }
        const answer = JSON.stringify({ took: 1, errors, items });
        if (mode.cutBulk) return cutAnswer(answer);
        return new Response(answer, { headers: { 'content-type': 'application/json' } });
      }
      const m = /^\/([^/]+)\/_search$/.exec(u.pathname);
      if (m && (req.method === 'POST' || req.method === 'GET')) {
        const q = (body ?? {}) as {
          query?: Q;
          size?: number;
          sort?: Array<Record<string, { order: string }> | string>;
          search_after?: SortValue[];
        };
        const pattern = decodeURIComponent(m[1]!);
        const sorts = (q.sort ?? []).map((x) =>
          typeof x === 'string'
            ? { f: x, order: 'asc' }
            : { f: Object.keys(x)[0]!, order: Object.values(x)[0]!.order },
        );
        const orders = sorts.map((x) => x.order);
        let hits = docs
          .filter((d) => indexMatches(pattern, d.index) && matches(d.source, q.query ?? { match_all: {} }))
          .map((d) => ({ d, sort: sorts.map((x) => sortValue(d, x.f)) }));
        if (sorts.length) hits = hits.sort((a, b) => compare(a.sort, b.sort, orders));
        if (q.search_after) {
          if (q.search_after.length !== sorts.length)
            return Response.json(
              { error: { type: 'illegal_argument_exception', reason: 'search_after has wrong length' } },
              { status: 400 },
            );
          hits = hits.filter((h) => compare(h.sort, q.search_after!, orders) > 0);
        }
        const answer = JSON.stringify({
          took: 2,
          timed_out: false,
          _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
          hits: {
            max_score: null,
            hits: hits.slice(0, q.size ?? 10).map((h) => ({
              _index: h.d.index,
              _id: h.d.id,
              _score: null,
              _source: h.d.source,
              ...(sorts.length ? { sort: h.sort } : {}),
            })),
          },
        });
        if (mode.cut) return cutAnswer(answer);
        return new Response(answer, { headers: { 'content-type': 'application/json' } });
      }
      return Response.json({ error: 'no handler' }, { status: 404 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, docs, requests, mode, stop: () => server.stop(true) };
}
