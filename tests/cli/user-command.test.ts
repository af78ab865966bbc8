import { Database } from 'bun:sqlite';
import { afterAll, describe, expect, test } from 'bun:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers/test-app.ts';

const dataDir = tempDir('tracepulse-user-cli-');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs the real CLI in a child process, as an operator would on the gateway. */
async function cli(args: string[], stdin = '') {
  const p = Bun.spawn([process.execPath, join(repoRoot, 'src/main.ts'), ...args], {
    env: { ...process.env, TRACEPULSE_DATA_DIR: dataDir },
    stdin: new TextEncoder().encode(stdin),
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}

describe('tracepulse user', () => {
  test('add reads the password from standard input and stores an argon2id hash in the data dir', async () => {
    const r = await cli(['user', 'add', 'ada', '--role', 'admin', '--password-stdin'], 'long enough pw\n');
    expect(r).toMatchObject({ code: 0, out: 'added ada (admin)\n' });
    const db = new Database(join(dataDir, 'tracepulse.db'), { readonly: true });
    const row = db
      .query<{ role: string; password_hash: string }, []>(
        "SELECT role, password_hash FROM users WHERE name = 'ada'",
      )
      .get();
    db.close();
    expect(row?.role).toBe('admin');
    expect(row?.password_hash).toStartWith('$argon2id$');
    expect(row?.password_hash).not.toContain('long enough pw');
  });

  test('list shows users and roles', async () => {
    const r = await cli(['user', 'list']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ada\tadmin\t\d{4}-/);
  });

  test('refuses a duplicate, an unknown role, a short password, and no terminal without --password-stdin', async () => {
    expect(
      (await cli(['user', 'add', 'ada', '--role', 'viewer', '--password-stdin'], 'another long pw')).err,
    ).toMatch(/exists/);
    const role = await cli(['user', 'add', 'bob', '--role', 'boss', '--password-stdin'], 'long enough pw');
    expect(role).toMatchObject({ code: 2 });
    expect(role.err).toMatch(/unknown role 'boss': one of viewer, engineer, admin/);
    expect((await cli(['user', 'add', 'bob', '--role', 'viewer', '--password-stdin'], 'short')).err).toMatch(
      /at least 8/,
    );
    const tty = await cli(['user', 'add', 'bob', '--role', 'viewer']);
    expect(tty.code).toBe(2);
    expect(tty.err).toMatch(/--password-stdin/);
  });

  test('remove deletes the user', async () => {
    expect((await cli(['user', 'remove', 'ada'])).code).toBe(0);
    expect((await cli(['user', 'remove', 'ada'])).code).toBe(2);
  });
});
