import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { TracePulseError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { isoTime } from '../core/time.ts';
import { commitSchema, compareSchema, type GitHubApi, type ListQuery } from './github-api.ts';

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

/** What Octokit throws: with a response when GitHub answered, without one when the request never completed. */
interface RequestError {
  name?: string;
  status?: number;
  message?: string;
  response?: { headers: Record<string, string> };
}

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
      const e = err as RequestError;
      if (e.response) return answeredWithError(endpoint, e, err);
      return unanswered(endpoint, e, err, signal?.aborted === true, combined.aborted);
    }
  };

  /** GitHub answered with an error status (304 included: nothing new, null). */
  const answeredWithError = (endpoint: string, e: RequestError, err: unknown): null => {
    const status = e.status ?? 0;
    metrics.inc('tracepulse_github_requests_total', { endpoint, status: String(status) });
    const limited = readLimits(status, (e.response as { headers: Record<string, string> }).headers);
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
  };

  /** No response: the request never completed (refused, DNS, reset, timeout, or our deadline). */
  const unanswered = (
    endpoint: string,
    e: RequestError,
    err: unknown,
    callerAborted: boolean,
    signalAborted: boolean,
  ): never => {
    const aborted = e.name === 'AbortError' || e.name === 'TimeoutError' || signalAborted;
    const byCaller = aborted && callerAborted;
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
