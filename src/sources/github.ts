import type { Change } from '../core/change.ts';
import { type Clock, type Scheduler, systemScheduler, type Timer } from '../core/clock.ts';
import { TracePulseError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ChangeRefresher } from '../core/ports.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { ChangesRepo, CommitInput } from '../store/changes-repo.ts';
import type { GitHubCache } from '../store/github-cache.ts';
import type { GitHubApi, GitHubCommit, GitHubStatus } from './github-api.ts';
import {
  commitAuthor,
  commitTime,
  deployRange,
  listWindow,
  mappedPaths,
  servicesFor,
  toPath,
  toUnifiedDiff,
} from './github-format.ts';

const day = 86_400_000;

export interface GitHubChangesOptions {
  api: GitHubApi;
  changes: ChangesRepo;
  cache: GitHubCache;
  maps: { current(): { graph: SystemGraph }; onChange(listener: (s: { graph: SystemGraph }) => void): void };
  clock: Clock;
  /** The background refresh's timer and the per-trigger deadline (tests pass a manual clock). */
  scheduler?: Scheduler;
  logger: Logger;
  lookbackDays: number;
  /** Background refresh period; 0 turns the background refresh off (triggers still refresh). */
  refreshMinutes: number;
  /** Branch, tag or sha to list commits from; the repository's default branch when absent. */
  ref?: string;
  /** Pages followed per path and refresh. */
  maxPages?: number;
  /** Commits per list page (GitHub allows up to 100). */
  perPage?: number;
  /** Commit details fetched per background pass; the rest follow on the next pass. */
  maxDetailsPerRun?: number;
  /** After a network failure, triggers use the cache without asking GitHub for this long. */
  offlineMs?: number;
  initialDelayMs?: number;
}

export interface RefreshSummary {
  paths: number;
  notModified: number;
  newCommits: number;
  details: number;
  compares: number;
  errors: string[];
}

const emptySummary = (): RefreshSummary => ({
  paths: 0,
  notModified: 0,
  newCommits: 0,
  details: 0,
  compares: 0,
  errors: [],
});

export interface GitHubChanges extends ChangeRefresher {
  /** Starts the periodic refresh of every mapped service's files over the look-back window. */
  start(): void;
  stop(): Promise<void>;
  /** One background pass (what the timer runs). */
  refreshAll(signal?: AbortSignal): Promise<RefreshSummary>;
  /** The commits and combined diff between two revisions; used for deploy records naming a range. */
  compare(
    repo: string,
    base: string,
    head: string,
    signal?: AbortSignal,
  ): Promise<{ commits: CommitInput[]; files: string[]; diff: string | null }>;
  status(): GitHubStatus & { commitsCached: number; lastRefresh: (RefreshSummary & { at: string }) | null };
}

/** GitHub as a change source: read-only, offline-first, cached in SQLite and refreshed in the background. */
export function createGitHubChanges(options: GitHubChangesOptions): GitHubChanges {
  const { api, changes, cache, maps, clock, logger } = options;
  const scheduler = options.scheduler ?? systemScheduler;
  const maxPages = options.maxPages ?? 10;
  const perPage = options.perPage ?? 100;
  const offlineMs = options.offlineMs ?? 30_000;

  const pathServices = (graph: SystemGraph, repo: string, path: string) =>
    [...graph.services.values()]
      .filter((n) => n.repo === repo && n.files.some((f) => toPath(f) === path))
      .map((n) => n.name);

  const toInput = (repo: string, c: GitHubCommit, services: string[]): CommitInput | null => {
    const ts = commitTime(c);
    if (ts === null) return null;
    const detail = c.files
      ? { files: c.files.map((f) => f.filename), diff: toUnifiedDiff(c.files) }
      : undefined;
    return {
      repo,
      sha: c.sha,
      timestamp: ts,
      summary: c.commit.message.slice(0, 4000) || '(no message)',
      author: commitAuthor(c),
      url: c.html_url ?? null,
      detail,
      services: detail ? servicesFor(maps.current().graph, repo, detail.files) : services,
    };
  };

  /** Lists one path's commits (conditional, paginated) and caches the new ones; returns every listed sha. */
  const refreshPath = async (
    target: { repo: string; path: string },
    window: { since: string; until?: string },
    signal: AbortSignal | undefined,
    summary: RefreshSummary,
  ): Promise<string[]> => {
    const shas: string[] = [];
    let unchanged = false;
    for (let page = 1; page <= maxPages; page++) {
      const q = { repo: target.repo, path: target.path, ...window, sha: options.ref, page, perPage };
      const url = api.listUrl(q);
      const memo = cache.page(url);
      // An unchanged first page means an unchanged listing (new commits land on top), so remembered pages stand.
      if (unchanged && memo) {
        shas.push(...memo.shas);
        if (!memo.hasNext) break;
        continue;
      }
      const res = await api.listCommits(q, { etag: memo?.etag, signal });
      if (res.notModified) {
        summary.notModified++;
        if (!memo) break;
        cache.touchPage(url, clock.now());
        unchanged = page === 1 || unchanged;
        shas.push(...memo.shas);
        if (!memo.hasNext) break;
        continue;
      }
      const services = pathServices(maps.current().graph, target.repo, target.path);
      const inputs = res.commits
        .map((c) => toInput(target.repo, c, services))
        .filter((c): c is CommitInput => c !== null);
      summary.newCommits += changes.saveCommits(inputs, clock.now());
      const pageShas = res.commits.map((c) => c.sha);
      if (res.etag)
        cache.savePage(url, { etag: res.etag, shas: pageShas, hasNext: res.hasNext }, clock.now());
      shas.push(...pageShas);
      if (!res.hasNext) break;
    }
    return shas;
  };

  /** Fetches a commit's detail once; a sha whose detail is stored is never asked for again. */
  const fetchDetail = async (repo: string, sha: string, signal: AbortSignal | undefined) => {
    const c = await api.getCommit(repo, sha, { signal });
    const input = toInput(repo, c, []);
    if (input) changes.saveCommits([input], clock.now());
  };

  const compare: GitHubChanges['compare'] = async (repo, base, head, signal) => {
    const r = await api.compare(repo, base, head, { signal });
    return {
      commits: r.commits.map((c) => toInput(repo, c, [])).filter((c): c is CommitInput => c !== null),
      files: (r.files ?? []).map((f) => f.filename),
      diff: toUnifiedDiff(r.files ?? []),
    };
  };

  /** Resolves a deploy record naming BASE...HEAD: caches the range's commits and fills the record's files and diff. */
  const compareDeploy = async (change: Change, signal: AbortSignal | undefined) => {
    const range = deployRange(change, maps.current().graph);
    if (!range) return cache.saveCompare(change.id, { state: 'none' }, clock.now());
    try {
      const r = await compare(range.repo, range.base, range.head, signal);
      changes.saveCommits(r.commits, clock.now());
      changes.fillMissing(change.id, r.files, r.diff);
      cache.saveCompare(
        change.id,
        { state: 'done', ...range, commits: r.commits.map((c) => c.sha) },
        clock.now(),
      );
    } catch (err) {
      // A transient failure is retried on the next pass; a permanent one (unknown sha) is remembered.
      if (err instanceof TracePulseError && !err.transient)
        cache.saveCompare(change.id, { state: 'failed', ...range, error: err.message }, clock.now());
      throw err;
    }
  };

  const detailsFor = (repo: string, shas: string[]) => {
    const state = changes.commitState(repo, shas);
    return shas.filter((s) => state.get(s) !== 'detail').map((sha) => ({ repo, sha }));
  };

  const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

  let lastRefresh: (RefreshSummary & { at: string }) | null = null;
  let running: Promise<RefreshSummary> | null = null;
  let controller: AbortController | null = null;
  let timer: Timer | null = null;
  let stopped = false;

  const refreshAll = async (signal?: AbortSignal): Promise<RefreshSummary> => {
    const summary = emptySummary();
    const graph = maps.current().graph;
    const now = clock.now();
    const since = now - options.lookbackDays * day;
    const window = listWindow(since, now, now);
    const note = (err: unknown) => summary.errors.push(errorText(err));
    for (const target of mappedPaths(graph)) {
      // A rate-limit pause stops the pass; the next one resumes where the cache stands.
      if (api.blockedReason() || signal?.aborted) break;
      summary.paths++;
      await refreshPath(target, window, signal, summary).catch(note);
    }
    await eachLimit(changes.missingDetail(since, options.maxDetailsPerRun ?? 300), 3, async (c) => {
      if (api.blockedReason() || signal?.aborted) return;
      await fetchDetail(c.repo, c.sha, signal).then(() => summary.details++, note);
    });
    for (const d of cache.deploysWithoutCompare(since, now, 20)) {
      if (api.blockedReason() || signal?.aborted) break;
      await compareDeploy(d, signal).then(() => summary.compares++, note);
    }
    const at = new Date(clock.now()).toISOString();
    if (summary.newCommits || summary.errors.length !== (lastRefresh?.errors.length ?? 0))
      logger.info('GitHub changes refreshed', { ...summary, errors: summary.errors.slice(0, 3) });
    lastRefresh = { ...summary, at };
    return summary;
  };

  const runBackground = () => {
    if (stopped || running) return;
    controller = new AbortController();
    running = refreshAll(controller.signal).finally(() => {
      running = null;
      controller = null;
      if (!stopped && options.refreshMinutes > 0)
        timer = scheduler.after(options.refreshMinutes * 60_000, runBackground);
    });
    running.catch((err) => logger.error('GitHub refresh failed', { error: errorText(err) }));
  };

  maps.onChange((s) => {
    const n = changes.remapCommits((repo, files) => servicesFor(s.graph, repo, files));
    if (n) logger.info('cached commits re-mapped to the new system map', { commits: n });
  });

  return {
    start() {
      if (options.refreshMinutes <= 0) return;
      timer = scheduler.after(options.initialDelayMs ?? 3_000, runBackground);
      logger.info('GitHub change refresh started', {
        everyMinutes: options.refreshMinutes,
        lookbackDays: options.lookbackDays,
      });
    },
    async stop() {
      stopped = true;
      timer?.cancel();
      controller?.abort();
      await running?.catch(() => {});
    },
    refreshAll,
    compare,

    async refreshForTrigger(input) {
      const blocked = api.blockedReason(offlineMs);
      if (blocked) return { fresh: false, error: blocked };
      const targets = new Map<string, { repo: string; path: string }>();
      for (const f of input.files) {
        const path = toPath(f.path);
        if (path && f.repo) targets.set(`${f.repo}\u0000${path}`, { repo: f.repo, path });
      }
      const abort = new AbortController();
      const summary = emptySummary();
      const note = (err: unknown) => summary.errors.push(errorText(err));
      const window = listWindow(input.since, input.until, clock.now());
      const work = (async () => {
        const needed: Array<{ repo: string; sha: string }> = [];
        await eachLimit([...targets.values()], 4, async (t) => {
          const shas = await refreshPath(t, window, abort.signal, summary).catch((e) => {
            note(e);
            return [];
          });
          needed.push(...detailsFor(t.repo, shas));
        });
        await eachLimit(needed.slice(0, 50), 4, (c) => fetchDetail(c.repo, c.sha, abort.signal).catch(note));
        for (const d of cache.deploysWithoutCompare(input.since, input.until, 5))
          await compareDeploy(d, abort.signal).catch(note);
      })();
      let deadline: Timer | undefined;
      const timedOut = await Promise.race([
        work.then(() => false),
        new Promise<boolean>((resolve) => {
          deadline = scheduler.after(input.deadlineMs, () => resolve(true));
        }),
      ]);
      deadline?.cancel();
      if (timedOut) {
        abort.abort();
        work.catch(() => {});
        return {
          fresh: false,
          error: `GitHub did not answer within ${input.deadlineMs} ms; cached changes used`,
        };
      }
      if (summary.errors.length) return { fresh: false, error: summary.errors[0] };
      return { fresh: true };
    },

    status: () => ({ ...api.status(), commitsCached: changes.count('commits'), lastRefresh }),
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
