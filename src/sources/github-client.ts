import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { TracePulseError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { isoTime } from '../core/time.ts';

const fileSchema = z.object({
  filename: z.string(),
  status: z.string().optional(),
  previous_filename: z.string().optional(),
  patch: z.string().optional(),
});
const commitSchema = z.object({
  sha: z.string(),
  html_url: z.string().nullish(),
  commit: z.object({
    message: z.string(),
    author: z.object({ name: z.string().nullish(), date: z.string().nullish() }).nullish(),
    committer: z.object({ date: z.string().nullish() }).nullish(),
  }),
  author: z.object({ login: z.string() }).nullish(),
  files: z.array(fileSchema).optional(),
});
const compareSchema = z.object({
  total_commits: z.number().optional(),
  commits: z.array(commitSchema),
  files: z.array(fileSchema).optional(),
});

export type GitHubFile = z.output<typeof fileSchema>;
export type GitHubCommit = z.output<typeof commitSchema>;
export type GitHubCompare = z.output<typeof compareSchema>;

export interface ListQuery {
  /** owner/name */
  repo: string;
  path?: string;
  since?: string;
  until?: string;
  /** Branch, tag or sha to list from; the default branch when absent. */
  sha?: string;
  page: number;
  perPage: number;
}

export type ListPage =
  | { notModified: true }
  | { notModified: false; commits: GitHubCommit[]; etag: string | null; hasNext: boolean };

export interface GitHubStatus {
  enabled: true;
  apiUrl: string;
  lastSuccess: string | null;
  lastError: { at: string; message: string } | null;
  rateLimitRemaining: number | null;
  rateLimitedUntil: string | null;
}

/** The three read-only GitHub REST endpoints TracePulse uses, with rate-limit and connectivity memory. */
export interface GitHubApi {
  /** GET /repos/{o}/{r}/commits; with `etag` sends If-None-Match and reports a 304 as notModified. */
  listCommits(q: ListQuery, options?: { etag?: string; signal?: AbortSignal }): Promise<ListPage>;
  /** GET /repos/{o}/{r}/commits/{sha}: the commit with files[].patch. */
  getCommit(repo: string, sha: string, options?: { signal?: AbortSignal }): Promise<GitHubCommit>;
  /** GET /repos/{o}/{r}/compare/{base}...{head}. */
  compare(
    repo: string,
    base: string,
    head: string,
    options?: { signal?: AbortSignal },
  ): Promise<GitHubCompare>;
  /** The stable key of a list request (its URL), under which its ETag is remembered. */
  listUrl(q: ListQuery): string;
  /** Why a request would not be sent now (rate-limit back-off, or unreachable within `offlineMs`); null if it would. */
  blockedReason(offlineMs?: number): string | null;
  status(): GitHubStatus;
}

export interface GitHubClientOptions {
  apiUrl: string;
  token?: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  userAgent: string;
  /** Per-request cap when the caller gives no tighter signal. */
  timeoutMs?: number;
}

const secondaryLimitBackoffMs = 60_000;

/** Builds the GitHub adapter on @octokit/rest (imported lazily: only a configured station pays for it). */
export async function createGitHubClient(options: GitHubClientOptions): Promise<GitHubApi> {
  const { clock, logger, metrics } = options;
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const { Octokit } = await import('@octokit/rest');
  const octokit = new Octokit({
    auth: options.token,
    baseUrl: apiUrl,
    userAgent: options.userAgent,
    // Octokit logs every request; our own counters and state lines cover that.
    log: { debug: () => {}, info: () => {}, warn: (m: string) => logger.warn(m), error: () => {} },
  });

  let lastSuccess: number | null = null;
  let lastError: { at: number; message: string } | null = null;
  let lastNetworkFailure: number | null = null;
  let rateLimitRemaining: number | null = null;
  let rateLimitedUntil = 0;

  const readLimits = (status: number, headers: Record<string, string | number | undefined>) => {
    const header = (name: string) => {
      const v = headers[name];
      return v === undefined || v === '' ? null : Number(v);
    };
    // Only this answer's headers count: Enterprise servers with rate limiting off send none.
    const remaining = header('x-ratelimit-remaining');
    const reset = header('x-ratelimit-reset');
    const retryAfter = header('retry-after');
    if (remaining !== null) rateLimitRemaining = remaining;
    const now = clock.now();
    let until = 0;
    if ((status === 403 || status === 429) && retryAfter !== null && retryAfter >= 0)
      until = now + retryAfter * 1000;
    else if (remaining === 0)
      // A reset already past by our clock means the gateway's clock is off: wait a minute instead.
      until = reset !== null && reset * 1000 > now ? reset * 1000 : now + secondaryLimitBackoffMs;
    else if (status === 429) until = now + secondaryLimitBackoffMs;
    if (until > rateLimitedUntil) {
      rateLimitedUntil = until;
      logger.warn('GitHub rate limit reached; pausing requests', { until: isoTime(until) });
    }
    return until > now;
  };

  // Per-request errors go to health and the refresh summary; only connectivity changes are logged.
  const fail = (message: string) => {
    lastError = { at: clock.now(), message };
  };
  const reached = () => {
    if (lastNetworkFailure !== null) logger.info('GitHub reachable again');
    lastNetworkFailure = null;
  };

  const call = async <T>(
    endpoint: 'commits' | 'commit' | 'compare',
    route: string,
    params: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; data: T; headers: Record<string, string | number | undefined> } | null> => {
    const blocked = limitReason();
    if (blocked) {
      metrics.inc('tracepulse_github_skipped_total', { reason: 'rate_limited' });
      throw new TracePulseError('UPSTREAM_TRANSIENT', blocked);
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 20_000);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const res = await octokit.request(route, {
        ...params,
        headers: { 'x-github-api-version': '2022-11-28', ...(params.headers as object) },
        request: { signal: combined },
      });
      metrics.inc('tracepulse_github_requests_total', { endpoint, status: String(res.status) });
      readLimits(res.status, res.headers);
      reached();
      lastSuccess = clock.now();
      lastError = null;
      return { status: res.status, data: res.data as T, headers: res.headers };
    } catch (err) {
      const e = err as {
        name?: string;
        status?: number;
        message?: string;
        response?: { headers: Record<string, string> };
      };
      if (e.response) {
        const status = e.status ?? 0;
        metrics.inc('tracepulse_github_requests_total', { endpoint, status: String(status) });
        const limited = readLimits(status, e.response.headers);
        reached();
        if (status === 304) {
          lastSuccess = clock.now();
          lastError = null;
          return null;
        }
        const message = limited
          ? `GitHub rate limit (HTTP ${status}); waiting until ${isoTime(rateLimitedUntil)}`
          : `GitHub HTTP ${status}: ${e.message ?? ''}`.trim();
        fail(message);
        const transient = limited || status >= 500;
        throw new TracePulseError(transient ? 'UPSTREAM_TRANSIENT' : 'UPSTREAM_PERMANENT', message, {
          cause: err,
        });
      }
      // No response: the request never completed (refused, DNS, reset, timeout, or our deadline).
      const aborted = e.name === 'AbortError' || e.name === 'TimeoutError' || combined.aborted;
      const byCaller = aborted && signal?.aborted === true;
      metrics.inc('tracepulse_github_requests_total', {
        endpoint,
        status: byCaller ? 'aborted' : aborted ? 'timeout' : 'network',
      });
      const message = byCaller
        ? 'GitHub request abandoned at the deadline'
        : aborted
          ? `GitHub did not answer within ${options.timeoutMs ?? 20_000} ms`
          : `GitHub unreachable: ${e.message ?? String(err)}`;
      fail(message);
      if (!byCaller) {
        if (lastNetworkFailure === null)
          logger.warn('GitHub unreachable; cached changes are used', { error: message });
        lastNetworkFailure = clock.now();
      }
      throw new TracePulseError('UPSTREAM_TRANSIENT', message, { cause: err });
    }
  };

  const limitReason = (): string | null =>
    rateLimitedUntil > clock.now() ? `GitHub rate limit: waiting until ${isoTime(rateLimitedUntil)}` : null;

  const split = (repo: string) => {
    const [owner, name] = repo.split('/');
    if (!owner || !name) throw new TracePulseError('CONFIG', `repo must be owner/name, got '${repo}'`);
    return { owner, repo: name };
  };

  const parse = <S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> => {
    const r = schema.safeParse(data);
    if (!r.success) {
      const message = `unexpected GitHub ${what} response`;
      fail(message);
      throw new TracePulseError('UPSTREAM_PERMANENT', message, { cause: r.error });
    }
    return r.data;
  };

  const listParams = (q: ListQuery) => {
    const p: Record<string, string> = {};
    if (q.sha) p.sha = q.sha;
    if (q.path) p.path = q.path;
    if (q.since) p.since = q.since;
    if (q.until) p.until = q.until;
    p.per_page = String(q.perPage);
    p.page = String(q.page);
    return p;
  };

  return {
    async listCommits(q, opts = {}) {
      const res = await call<unknown>(
        'commits',
        'GET /repos/{owner}/{repo}/commits',
        { ...split(q.repo), ...listParams(q), headers: opts.etag ? { 'if-none-match': opts.etag } : {} },
        opts.signal,
      );
      if (!res) return { notModified: true };
      const link = String(res.headers.link ?? '');
      return {
        notModified: false,
        commits: parse(z.array(commitSchema), res.data, 'commit list'),
        etag: typeof res.headers.etag === 'string' ? res.headers.etag : null,
        hasNext: /<[^>]+>;\s*rel="next"/.test(link),
      };
    },
    async getCommit(repo, sha, opts = {}) {
      const res = await call<unknown>(
        'commit',
        'GET /repos/{owner}/{repo}/commits/{ref}',
        { ...split(repo), ref: sha },
        opts.signal,
      );
      return parse(commitSchema, res?.data, 'commit');
    },
    async compare(repo, base, head, opts = {}) {
      const res = await call<unknown>(
        'compare',
        'GET /repos/{owner}/{repo}/compare/{basehead}',
        { ...split(repo), basehead: `${base}...${head}` },
        opts.signal,
      );
      return parse(compareSchema, res?.data, 'compare');
    },
    listUrl(q) {
      return `${apiUrl}/repos/${q.repo}/commits?${new URLSearchParams(listParams(q))}`;
    },
    blockedReason(offlineMs = 0) {
      const limited = limitReason();
      if (limited) return limited;
      if (lastNetworkFailure !== null && offlineMs > 0 && clock.now() - lastNetworkFailure < offlineMs)
        return `GitHub unreachable since ${isoTime(lastNetworkFailure)} (${lastError?.message ?? 'no answer'})`;
      return null;
    },
    status: () => ({
      enabled: true,
      apiUrl,
      lastSuccess: lastSuccess === null ? null : isoTime(lastSuccess),
      lastError: lastError ? { at: isoTime(lastError.at), message: lastError.message } : null,
      rateLimitRemaining,
      rateLimitedUntil: rateLimitedUntil > clock.now() ? isoTime(rateLimitedUntil) : null,
    }),
  };
}
