import type { Change } from '../core/change.ts';
import type { SystemGraph } from '../map/graph.ts';
import type { GitHubCommit, GitHubFile } from './github-api.ts';

const day = 86_400_000;

/** Largest diff kept per change (the change record schema's own limit). */
export const maxDiffChars = 2_000_000;

/**
 * GitHub's per-file patches as one unified diff. Each file gets git's `diff --git` header so the
 * hunk headers GitHub keeps (`@@ -120,7 +120,9 @@ void Charger::run_state_machine()`) stay attributable.
 */
export function toUnifiedDiff(files: GitHubFile[], maxChars = maxDiffChars): string | null {
  if (!files.length) return null;
  const parts: string[] = [];
  let size = 0;
  for (const f of files) {
    const before = f.previous_filename ?? f.filename;
    const header = [
      `diff --git a/${before} b/${f.filename}`,
      `--- ${f.status === 'added' ? '/dev/null' : `a/${before}`}`,
      `+++ ${f.status === 'removed' ? '/dev/null' : `b/${f.filename}`}`,
    ].join('\n');
    // GitHub omits `patch` for binary and very large files: the header alone still names the file.
    const part = f.patch ? `${header}\n${f.patch.replace(/\n$/, '')}` : header;
    if (size + part.length + 1 > maxChars) {
      parts.push(`# diff truncated: ${files.length - parts.length} more file(s) not shown`);
      break;
    }
    parts.push(part);
    size += part.length + 1;
  }
  return `${parts.join('\n')}\n`;
}

/** When the commit landed: committer date (rebases and merges keep the old author date), else author date. */
export function commitTime(c: GitHubCommit): number | null {
  const iso = c.commit.committer?.date ?? c.commit.author?.date;
  const ms = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(ms) ? null : ms;
}

export const commitAuthor = (c: GitHubCommit): string | null =>
  c.commit.author?.name ?? c.author?.login ?? null;

/** A map file entry as a GitHub `path` parameter: folders ('x/') lose the slash, './' prefixes go. */
export const toPath = (entry: string): string => entry.replace(/^\.?\//, '').replace(/\/+$/, '');

/** Services of the map whose repo is `repo` and whose files cover one of `files`, in map order. */
export function servicesFor(graph: SystemGraph, repo: string, files: string[]): string[] {
  const hits = new Set<string>();
  for (const f of files) for (const s of graph.servicesForFile(f)) hits.add(s);
  return [...graph.services.values()].filter((n) => n.repo === repo && hits.has(n.name)).map((n) => n.name);
}

/** Every distinct (repo, path) the map's services name. Services without a repo cannot be asked about. */
export function mappedPaths(graph: SystemGraph): Array<{ repo: string; path: string }> {
  const out = new Map<string, { repo: string; path: string }>();
  for (const n of graph.services.values()) {
    if (!n.repo) continue;
    for (const f of n.files) {
      const path = toPath(f);
      if (path) out.set(`${n.repo}\u0000${path}`, { repo: n.repo, path });
    }
  }
  return [...out.values()];
}

/**
 * since/until for a commit list, rounded to whole UTC days so the request URL stays the same
 * between refreshes and its ETag can answer 304. An `until` within a day of now is left open.
 */
export function listWindow(since: number, until: number, now: number): { since: string; until?: string } {
  const from = new Date(Math.floor(since / day) * day).toISOString().replace('.000Z', 'Z');
  if (until >= now - day) return { since: from };
  return { since: from, until: new Date(Math.ceil(until / day) * day).toISOString().replace('.000Z', 'Z') };
}

const sha = '[0-9a-f]{7,40}';
const compareUrl = new RegExp(`/([\\w.-]+)/([\\w.-]+)/compare/(${sha})\\.\\.\\.?(${sha})(?:[/?#]|$)`, 'i');
const inSummary = new RegExp(`(?:([\\w.-]+/[\\w.-]+)@)?\\b(${sha})\\.\\.\\.?(${sha})\\b`, 'i');

/**
 * The deployed range of a deploy record, if it names one: a GitHub compare URL in `url`
 * (https://github.com/o/r/compare/BASE...HEAD) or `BASE..HEAD` / `owner/repo@BASE...HEAD` in the summary.
 * `repo` falls back to the service's repo in the map.
 */
export function deployRange(
  change: Pick<Change, 'url' | 'summary' | 'service'>,
  graph: SystemGraph,
): { repo: string; base: string; head: string } | null {
  const fallback = () => {
    const name = change.service ? graph.resolve(change.service) : null;
    return (name ? graph.services.get(name)?.repo : null) ?? graph.repo;
  };
  const u = change.url ? compareUrl.exec(change.url) : null;
  if (u) return { repo: `${u[1]}/${u[2]}`, base: u[3]!, head: u[4]! };
  const s = inSummary.exec(change.summary);
  if (!s) return null;
  const repo = s[1] ?? fallback();
  return repo ? { repo, base: s[2]!, head: s[3]! } : null;
}
