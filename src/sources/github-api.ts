import { z } from 'zod';

/** GitHub's REST answers as TracePulse reads them (validated), and the adapter's interface. */

export const fileSchema = z.object({
  filename: z.string(),
  status: z.string().optional(),
  previous_filename: z.string().optional(),
  patch: z.string().optional(),
});
export const commitSchema = z.object({
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
export const compareSchema = z.object({
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
