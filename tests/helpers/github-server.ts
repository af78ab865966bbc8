/**
 * A local server that answers like GitHub's REST API for the three endpoints TracePulse reads:
 * commit lists (path/since/until/sha filters, Link pagination, ETag + 304), commit details with
 * files[].patch, and compare. It sends x-ratelimit-* headers and can answer 403/429 rate limits.
 */

export interface FakeFile {
  filename: string;
  status?: 'added' | 'modified' | 'removed' | 'renamed';
  previous_filename?: string;
  patch?: string;
}

export interface FakeCommit {
  sha: string;
  message: string;
  /** Committer date, ISO. */
  date: string;
  author?: string;
  login?: string;
  files: FakeFile[];
}

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  status: number;
}

export interface FakeGitHub {
  url: string;
  requests: SeenRequest[];
  /** repo (owner/name) -> commits, any order; lists answer newest first like GitHub. */
  repos: Map<string, FakeCommit[]>;
  addCommit(repo: string, c: FakeCommit): void;
  /** Every answer waits this long first (a slow GitHub). */
  delayMs: number;
  /** Requests received, counted on arrival (before `delayMs`; `requests` records them when answered). */
  arrived: number;
  /** Rate-limit budget; each non-304 answer spends one. At 0, answers are 403 until `resetAt`. */
  limit: { remaining: number; resetAt: number };
  /** When set, the next answers are this status with retry-after (secondary rate limit). */
  throttle: { status: 403 | 429; retryAfterS: number } | null;
  count(filter: (r: SeenRequest) => boolean): number;
  /** The server's own time (rate-limit resets); replaceable to play a gateway with a skewed clock. */
  now: () => number;
  stop(): void;
}

const json = 'application/json; charset=utf-8';

const commitJson = (base: string, repo: string, c: FakeCommit, withFiles: boolean) => {
  const person = { name: c.author ?? 'Piet Gömpel', email: 'pietgoempel@example.com', date: c.date };
  const body: Record<string, unknown> = {
    sha: c.sha,
    node_id: `C_kwDO${c.sha.slice(0, 12)}`,
    commit: {
      author: person,
      committer: { name: 'GitHub', email: 'noreply@github.com', date: c.date },
      message: c.message,
      tree: { sha: c.sha.split('').reverse().join(''), url: `${base}/repos/${repo}/git/trees/x` },
      url: `${base}/repos/${repo}/git/commits/${c.sha}`,
      comment_count: 0,
      verification: {
        verified: false,
        reason: 'unsigned',
        signature: null,
        payload: null,
        verified_at: null,
      },
    },
    url: `${base}/repos/${repo}/commits/${c.sha}`,
    html_url: `https://github.com/${repo}/commit/${c.sha}`,
    comments_url: `${base}/repos/${repo}/commits/${c.sha}/comments`,
    author: c.login ? { login: c.login, id: 4242, type: 'User', site_admin: false } : null,
    committer: { login: 'web-flow', id: 19864447, type: 'User', site_admin: false },
    parents: [],
  };
  if (withFiles) {
    const files = c.files.map((f) => {
      const lines = (f.patch ?? '').split('\n');
      const additions = lines.filter((l) => l.startsWith('+')).length;
      const deletions = lines.filter((l) => l.startsWith('-')).length;
      return {
        sha: c.sha.slice(0, 40),
        filename: f.filename,
        status: f.status ?? 'modified',
        additions,
        deletions,
        changes: additions + deletions,
        blob_url: `https://github.com/${repo}/blob/${c.sha}/${f.filename}`,
        raw_url: `https://github.com/${repo}/raw/${c.sha}/${f.filename}`,
        contents_url: `${base}/repos/${repo}/contents/${f.filename}?ref=${c.sha}`,
        ...(f.previous_filename ? { previous_filename: f.previous_filename } : {}),
        ...(f.patch !== undefined ? { patch: f.patch } : {}),
      };
    });
    body.stats = {
      total: files.reduce((n, f) => n + f.changes, 0),
      additions: files.reduce((n, f) => n + f.additions, 0),
      deletions: files.reduce((n, f) => n + f.deletions, 0),
    };
    body.files = files;
  }
  return body;
};

const touches = (c: FakeCommit, path: string) =>
  c.files.some((f) => f.filename === path || f.filename.startsWith(`${path}/`));

/** Starts the fake on a free port; `now` decides rate-limit resets (seconds since epoch = now()/1000). */
export function startFakeGitHub(options: { now?: () => number } = {}): FakeGitHub {
  const now = () => fake.now();
  const fake: FakeGitHub = {
    now: options.now ?? (() => Date.now()),
    url: '',
    requests: [],
    repos: new Map(),
    addCommit(repo, c) {
      fake.repos.set(repo, [...(fake.repos.get(repo) ?? []), c]);
    },
    delayMs: 0,
    arrived: 0,
    limit: { remaining: 5000, resetAt: Math.floor((options.now ?? Date.now)() / 1000) + 3600 },
    throttle: null,
    count: (filter) => fake.requests.filter(filter).length,
    stop: () => server.stop(true),
  };

  const answer = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const base = `${url.protocol}//${url.host}`;
    fake.arrived++;
    if (fake.delayMs) await Bun.sleep(fake.delayMs);
    const rate = () => ({
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(fake.limit.remaining),
      'x-ratelimit-reset': String(fake.limit.resetAt),
      'x-ratelimit-used': String(5000 - fake.limit.remaining),
      'x-ratelimit-resource': 'core',
      'x-github-request-id': `C0DE:${fake.requests.length}`,
      'x-github-api-version-selected': '2022-11-28',
    });
    if (fake.throttle) {
      return Response.json(
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
          documentation_url:
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        },
        {
          status: fake.throttle.status,
          headers: { ...rate(), 'retry-after': String(fake.throttle.retryAfterS) },
        },
      );
    }
    if (fake.limit.remaining <= 0 && now() < fake.limit.resetAt * 1000) {
      return Response.json(
        {
          message: 'API rate limit exceeded for 203.0.113.7.',
          documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
        },
        { status: 403, headers: rate() },
      );
    }
    if (fake.limit.remaining <= 0) fake.limit = { remaining: 5000, resetAt: Math.floor(now() / 1000) + 3600 };

    const m = /^\/repos\/([\w.-]+)\/([\w.-]+)\/(commits|compare)(?:\/(.+))?$/.exec(url.pathname);
    const notFound = () =>
      Response.json(
        { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
        { status: 404, headers: rate() },
      );
    if (!m) return notFound();
    const repo = `${m[1]}/${m[2]}`;
    const commits = [...(fake.repos.get(repo) ?? [])].sort((a, b) => b.date.localeCompare(a.date));
    if (!fake.repos.has(repo)) return notFound();

    let body: unknown;
    const headers: Record<string, string> = { 'content-type': json };
    if (m[3] === 'commits' && !m[4]) {
      const q = url.searchParams;
      const path = q.get('path')?.replace(/\/$/, '');
      const since = q.get('since');
      const until = q.get('until');
      const perPage = Math.min(Number(q.get('per_page') ?? 30), 100);
      const page = Number(q.get('page') ?? 1);
      const hits = commits.filter(
        (c) => (!path || touches(c, path)) && (!since || c.date >= since) && (!until || c.date <= until),
      );
      const slice = hits.slice((page - 1) * perPage, page * perPage);
      body = slice.map((c) => commitJson(base, repo, c, false));
      const lastPage = Math.max(1, Math.ceil(hits.length / perPage));
      const pageUrl = (n: number) => {
        const u = new URL(url);
        u.searchParams.set('page', String(n));
        return u.toString();
      };
      const links = [];
      if (page < lastPage)
        links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
      if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`, `<${pageUrl(page - 1)}>; rel="prev"`);
      if (links.length) headers.link = links.join(', ');
    } else if (m[3] === 'commits') {
      const c = commits.find((x) => x.sha.startsWith(m[4]!));
      if (!c)
        return Response.json(
          {
            message: `No commit found for SHA: ${m[4]}`,
            documentation_url: 'https://docs.github.com/rest/commits/commits#get-a-commit',
            status: '422',
          },
          { status: 422, headers: rate() },
        );
      body = commitJson(base, repo, c, true);
    } else {
      const [baseRef, headRef] = (m[4] ?? '').split('...');
      const chronological = [...commits].reverse();
      const b = chronological.findIndex((c) => c.sha.startsWith(baseRef ?? '-'));
      const h = chronological.findIndex((c) => c.sha.startsWith(headRef ?? '-'));
      if (b < 0 || h < 0) return notFound();
      const range = chronological.slice(b + 1, h + 1);
      const files = new Map<string, FakeFile>();
      for (const c of range) for (const f of c.files) files.set(f.filename, f);
      const detail = (c: FakeCommit) => commitJson(base, repo, c, true) as { files: unknown[] };
      body = {
        url: `${base}/repos/${repo}/compare/${baseRef}...${headRef}`,
        html_url: `https://github.com/${repo}/compare/${baseRef}...${headRef}`,
        permalink_url: `https://github.com/${repo}/compare/${repo.split('/')[0]}:${baseRef}...${headRef}`,
        base_commit: commitJson(base, repo, chronological[b]!, false),
        merge_base_commit: commitJson(base, repo, chronological[b]!, false),
        status: 'ahead',
        ahead_by: range.length,
        behind_by: 0,
        total_commits: range.length,
        commits: range.map((c) => commitJson(base, repo, c, false)),
        files: [...files.values()].map((f) => detail({ ...range[0]!, files: [f] }).files[0]),
      };
    }
    const text = JSON.stringify(body);
    const etag = `W/"${new Bun.CryptoHasher('sha256').update(text).digest('hex')}"`;
    headers.etag = etag;
    headers['cache-control'] = 'private, max-age=60, s-maxage=60';
    headers.vary = 'Accept, Authorization, Cookie, X-GitHub-OTP';
    // A conditional hit answers 304 with no body and costs no rate limit (GitHub's documented behaviour).
    if (req.headers.get('if-none-match') === etag)
      return new Response(null, { status: 304, headers: { etag, ...rate() } });
    fake.limit.remaining--;
    return new Response(text, { status: 200, headers: { ...headers, ...rate() } });
  };

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 30,
    fetch: async (req) => {
      const res = await answer(req);
      const url = new URL(req.url);
      fake.requests.push({
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        status: res.status,
      });
      return res;
    },
  });
  fake.url = `http://127.0.0.1:${server.port}`;
  return fake;
}
