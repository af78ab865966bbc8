import { TracePulseError } from '../core/errors.ts';
import type { Metrics } from '../core/metrics.ts';
import { isoTime } from '../core/time.ts';
import type { GitHubApi, GitHubCommit, ListPage } from '../sources/github-api.ts';
import type { RedisLink } from './redis-link.ts';

/** A listing fetched by any instance serves all for this long before it is asked for again (conditionally). */
const PAGE_FRESH_MS = 60_000;
const PAGE_TTL_S = 86_400;
/** Commits are immutable by sha: kept for the longest look-back. */
const COMMIT_TTL_S = 366 * 86_400;
/** While another instance fetches a commit, wait this long for its result before fetching it too. */
const LOCK_MS = 5000;
const WAIT_MS = 3000;
const MAX_VALUE_BYTES = 2 * 1024 * 1024;
const fullSha = /^[0-9a-f]{40}$/i;

interface SharedPage {
  etag: string;
  commits: GitHubCommit[];
  hasNext: boolean;
  at: number;
}

/**
 * The GitHub client, with its commit and listing cache shared through Redis: a commit fetched by one
 * instance (by its full sha) is read from Redis by the others, one instance fetches it while the
 * others wait for it, and a commit listing with its ETag serves every instance for a minute, then
 * one conditional request (the shared ETag) refreshes it for all. The rate limit is shared too: when
 * one instance learns GitHub's limit is spent (`<prefix>gh:ratelimit`, until its reset), no instance
 * sends requests before then. Redis away: the client as is.
 */
export function shareGitHub(
  api: GitHubApi,
  deps: { link: RedisLink; instanceId: string; metrics: Metrics; now: () => number },
): GitHubApi {
  const { link, metrics } = deps;
  const key = (kind: string, id: string) => `${link.prefix}gh:${kind}:${id}`;
  metrics.describe(
    'tracepulse_cluster_github_shared_total',
    'GitHub answers served from Redis instead of GitHub, by kind',
  );
  const get = async (k: string): Promise<string | null> => {
    if (!link.connected()) return null;
    try {
      const v = await link.send('GET', [k]);
      return typeof v === 'string' ? v : null;
    } catch {
      return null;
    }
  };
  const put = (k: string, value: string, ttlS: number) => {
    if (!link.connected() || value.length > MAX_VALUE_BYTES) return;
    link.send('SET', [k, value, 'EX', String(ttlS)]).catch(() => {});
  };
  const hit = (kind: string) => metrics.inc('tracepulse_cluster_github_shared_total', { kind });

  const limitKey = `${link.prefix}gh:ratelimit`;
  let sharedUntil = 0;
  let sharedBy = '';
  const blockedHere = () =>
    sharedUntil > deps.now()
      ? `GitHub rate limit (seen by ${sharedBy}): waiting until ${isoTime(sharedUntil)}`
      : null;
  /** Reads the shared back-off; throws instead of sending a request GitHub would refuse. */
  const guard = async () => {
    const v = await get(limitKey);
    if (v) {
      const [until, by] = v.split(' ');
      sharedUntil = Number(until) || 0;
      sharedBy = by ?? '';
    }
    const blocked = blockedHere();
    if (blocked) {
      metrics.inc('tracepulse_github_skipped_total', { reason: 'shared_rate_limit' });
      throw new TracePulseError('UPSTREAM_TRANSIENT', blocked);
    }
  };
  /** After a call: a limit this client learnt is told to every instance, until GitHub's reset. */
  const share = () => {
    const until = api.status().rateLimitedUntil;
    const t = until ? Date.parse(until) : 0;
    const left = t - deps.now();
    if (left <= 0 || t <= sharedUntil || !link.connected()) return;
    sharedUntil = t;
    sharedBy = deps.instanceId;
    link.send('SET', [limitKey, `${t} ${deps.instanceId}`, 'PX', String(Math.ceil(left))]).catch(() => {});
  };
  const guarded = async <T>(call: () => Promise<T>): Promise<T> => {
    await guard();
    try {
      return await call();
    } finally {
      share();
    }
  };

  return {
    listUrl: (q) => api.listUrl(q),
    blockedReason: (ms) => api.blockedReason(ms) ?? blockedHere(),
    status: () => {
      const s = api.status();
      return s.rateLimitedUntil || sharedUntil <= deps.now()
        ? s
        : { ...s, rateLimitedUntil: isoTime(sharedUntil) };
    },
    compare: (repo, base, head, options) => guarded(() => api.compare(repo, base, head, options)),

    async getCommit(repo, sha, options) {
      if (!fullSha.test(sha)) return guarded(() => api.getCommit(repo, sha, options));
      const k = key('commit', `${repo}@${sha.toLowerCase()}`);
      const cached = await get(k);
      if (cached) {
        hit('commit');
        return JSON.parse(cached) as GitHubCommit;
      }
      if (link.connected()) {
        const lock = await link
          .send('SET', [`${k}:lock`, deps.instanceId, 'NX', 'PX', String(LOCK_MS)])
          .catch(() => 'OK');
        if (lock !== 'OK') {
          // Another instance is fetching it: its answer serves us too.
          const until = deps.now() + WAIT_MS;
          while (deps.now() < until && !options?.signal?.aborted) {
            await Bun.sleep(25);
            const v = await get(k);
            if (v) {
              hit('commit');
              return JSON.parse(v) as GitHubCommit;
            }
          }
        }
      }
      const c = await guarded(() => api.getCommit(repo, sha, options));
      put(k, JSON.stringify(c), COMMIT_TTL_S);
      return c;
    },

    async listCommits(q, options = {}): Promise<ListPage> {
      const k = key('page', api.listUrl(q));
      const raw = await get(k);
      const shared = raw ? (JSON.parse(raw) as SharedPage) : null;
      const serve = (p: SharedPage): ListPage =>
        options.etag === p.etag
          ? { notModified: true }
          : { notModified: false, commits: p.commits, etag: p.etag, hasNext: p.hasNext };
      if (shared && deps.now() - shared.at < PAGE_FRESH_MS) {
        hit('page');
        return serve(shared);
      }
      // With the shared body at hand, ask with its ETag: a 304 then refreshes the listing for everyone.
      const res = await guarded(() => api.listCommits(q, { ...options, etag: shared?.etag ?? options.etag }));
      if (res.notModified) {
        if (!shared) return res;
        put(k, JSON.stringify({ ...shared, at: deps.now() }), PAGE_TTL_S);
        return serve(shared);
      }
      if (res.etag)
        put(
          k,
          JSON.stringify({ etag: res.etag, commits: res.commits, hasNext: res.hasNext, at: deps.now() }),
          PAGE_TTL_S,
        );
      return res;
    },
  };
}
