import type { Database } from 'bun:sqlite';
import type { Config } from '../config/config.ts';
import type { Clock, Scheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { ChangeRefresher, ChangeSource } from '../core/ports.ts';
import { type ChangesRepo, createChangesRepo } from '../store/changes-repo.ts';
import { createGitHubCache } from '../store/github-cache.ts';
import { createGitHubChanges, type GitHubChanges } from '../sources/github.ts';
import type { GitHubApi } from '../sources/github-api.ts';
import { createGitHubClient } from '../sources/github-client.ts';
import type { SystemMapSource } from '../sources/system-map-source.ts';

export interface ChangeSources {
  changes: ChangeSource;
  /** Present only when GitHub is configured (GITHUB_TOKEN or GITHUB_API_URL). */
  refresher: ChangeRefresher | undefined;
  /** The change records themselves (POST/GET /api/changes: http/change-routes.ts, mounted by app.ts). */
  repo: ChangesRepo;
  /** The /healthz component. */
  health(): ReturnType<GitHubChanges['status']> | { enabled: false };
  start(): void;
  stop(): Promise<void>;
}

/** Builds the change store and, when configured, the GitHub refresher. */
export async function createChangeSources(deps: {
  config: Config;
  db: Database;
  clock: Clock;
  scheduler?: Scheduler;
  logger: Logger;
  metrics: Metrics;
  maps: SystemMapSource;
  version: string;
  /** Cluster mode: shares the client's answers with the other instances (cluster/shared-github.ts). */
  wrapGitHub?: (api: GitHubApi) => GitHubApi;
}): Promise<ChangeSources> {
  const { config, db, clock, metrics } = deps;
  const logger = deps.logger.child('github');
  const changes = createChangesRepo(db);
  metrics.describe('tracepulse_changes_total', 'Change records stored through the API, by kind');
  metrics.describe('tracepulse_changes_duplicate_total', 'Change records resent with an id already stored');
  metrics.describe('tracepulse_github_requests_total', 'GitHub REST requests, by endpoint and HTTP status');
  metrics.describe('tracepulse_github_skipped_total', 'GitHub requests not sent, by reason');

  let github: GitHubChanges | null = null;
  if (config.GITHUB_TOKEN || config.GITHUB_API_URL) {
    const client = await createGitHubClient({
      apiUrl: config.GITHUB_API_URL ?? 'https://api.github.com',
      token: config.GITHUB_TOKEN,
      clock,
      logger,
      metrics,
      userAgent: `tracepulse/${deps.version}`,
    });
    const api = deps.wrapGitHub ? deps.wrapGitHub(client) : client;
    github = createGitHubChanges({
      api,
      changes,
      cache: createGitHubCache(db),
      maps: deps.maps,
      clock,
      scheduler: deps.scheduler,
      logger,
      lookbackDays: config.TRACEPULSE_CHANGE_LOOKBACK_DAYS,
      refreshMinutes: config.TRACEPULSE_GITHUB_REFRESH_MINUTES,
      ref: config.TRACEPULSE_GITHUB_REF,
    });
    const gh = github;
    metrics.gauge(
      'tracepulse_github_rate_limit_remaining',
      'GitHub requests left in the rate-limit window',
      () => {
        const n = gh.status().rateLimitRemaining;
        return n === null ? [] : [{ value: n }];
      },
    );
  }

  return {
    changes,
    refresher: github ?? undefined,
    repo: changes,
    health: () => (github ? github.status() : { enabled: false }),
    start: () => github?.start(),
    stop: async () => {
      await github?.stop();
    },
  };
}
