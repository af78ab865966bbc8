import { Database } from 'bun:sqlite';
import { afterEach, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/test-app.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('kill -9 while the checkpoint thread runs loses no acknowledged event and leaves a sound store', async () => {
  dir = tempDir();
  const child = Bun.spawn([process.execPath, join(import.meta.dir, 'support', 'sustained-writer.ts'), dir], {
    stdout: 'pipe',
    stderr: 'inherit',
  });
  let acked = 0;
  let activeAt = 0;
  let buffered = '';
  const decoder = new TextDecoder();
  const reader = child.stdout.getReader();
  const deadline = Date.now() + 20_000;
  // Read until the thread has run for a while (several background passes and WAL restarts), then kill.
  while (Date.now() < deadline && !(activeAt && Date.now() - activeAt > 700)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'active' && !activeAt) activeAt = Date.now();
      const m = /^acked (\d+)$/.exec(line);
      if (m) acked = Number(m[1]);
    }
  }
  expect(activeAt).toBeGreaterThan(0);
  child.kill('SIGKILL');
  await child.exited;
  reader.releaseLock();

  const db = new Database(join(dir, 'tracepulse.db'));
  expect((db.query('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check).toBe(
    'ok',
  );
  const highest = db.query<{ id: string }, []>('SELECT id FROM events ORDER BY id DESC LIMIT 1').get();
  const count = db
    .query<{ n: number }, [string]>('SELECT COUNT(*) AS n FROM events WHERE id <= ?')
    .get(`evt-${String(acked).padStart(7, '0')}`)!.n;
  // Every event acknowledged before the kill is there; so are, perhaps, a few committed after the last line read.
  expect(acked).toBeGreaterThan(2000);
  expect(count).toBe(acked);
  expect(Number(highest?.id.slice(4))).toBeGreaterThanOrEqual(acked);
  db.close();
}, 30_000);
