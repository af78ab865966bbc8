import type { Database } from 'bun:sqlite';

/**
 * The newest committed log batch key with `prefix` (keys sort by their zero-padded position), read
 * from log_batches through its primary key: a follower's checkpoint commits in the same transaction
 * as the lines it covers, so a crash can neither skip nor repeat them.
 */
export function latestBatchKey(db: Database, prefix: string): string | null {
  // The character after ':' bounds the prefix range.
  const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
  return (
    db
      .query<{ key: string | null }, [string, string]>(
        'SELECT MAX(key) AS key FROM log_batches WHERE key >= ? AND key < ?',
      )
      .get(prefix, end)?.key ?? null
  );
}
