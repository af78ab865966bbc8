import { join } from 'node:path';
import { isRole, roles } from '../auth/roles.ts';
import { loadConfig } from '../config/config.ts';
import { TracePulseError } from '../core/errors.ts';
import { openDatabase } from '../store/db.ts';
import { createUserStore } from '../store/user-store.ts';

const usage = `usage:
  tracepulse user add NAME --role viewer|engineer|admin [--password-stdin]
  tracepulse user list
  tracepulse user remove NAME
The store is TRACEPULSE_DATA_DIR/tracepulse.db, as for the server. Without --password-stdin the
password is asked for on the terminal (twice, not echoed).`;

export interface UserCommandIo {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadStream;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** `tracepulse user ...`: manages UI users in the same SQLite store the server uses; returns the exit code. */
export async function runUserCommand(
  args: string[],
  io: UserCommandIo = {
    env: process.env,
    stdin: process.stdin,
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
  },
): Promise<number> {
  const [sub, ...rest] = args;
  const flags = new Set(rest.filter((a) => a.startsWith('--')));
  const roleAt = rest.indexOf('--role');
  const role = roleAt >= 0 ? rest[roleAt + 1] : undefined;
  const positional = rest.filter((a, i) => !a.startsWith('--') && !(roleAt >= 0 && i === roleAt + 1));
  const name = positional[0];

  if (sub === 'add') {
    if (!name || !role) return fail(io, usage);
    if (!isRole(role)) return fail(io, `unknown role '${role}': one of ${roles.join(', ')}`);
    const unknown = [...flags].filter((f) => f !== '--role' && f !== '--password-stdin');
    if (unknown.length) return fail(io, `unknown option ${unknown.join(' ')}\n${usage}`);
    let password: string;
    if (flags.has('--password-stdin')) password = (await readAll(io.stdin)).replace(/\r?\n$/, '');
    else if (io.stdin.isTTY) {
      password = await promptHidden(io, 'Password: ');
      if ((await promptHidden(io, 'Again: ')) !== password) return fail(io, 'passwords differ');
    } else return fail(io, 'standard input is not a terminal: pass the password with --password-stdin');
    return withStore(io, async (users) => {
      const u = await users.add(name, password, role, Date.now());
      io.stdout(`added ${u.name} (${u.role})\n`);
      return 0;
    });
  }
  if (sub === 'list')
    return withStore(io, async (users) => {
      for (const u of users.list())
        io.stdout(`${u.name}\t${u.role}\t${new Date(u.createdAt).toISOString()}\n`);
      return 0;
    });
  if (sub === 'remove') {
    if (!name) return fail(io, usage);
    return withStore(io, async (users) => {
      if (!users.remove(name)) return fail(io, `no user '${name}'`);
      io.stdout(`removed ${name}\n`);
      return 0;
    });
  }
  return fail(io, usage);
}

async function withStore(
  io: UserCommandIo,
  run: (users: ReturnType<typeof createUserStore>) => Promise<number>,
): Promise<number> {
  const config = loadConfig(io.env);
  const db = openDatabase(join(config.TRACEPULSE_DATA_DIR, 'tracepulse.db'), {
    sync: config.TRACEPULSE_SQLITE_SYNC,
  });
  try {
    return await run(createUserStore(db));
  } catch (err) {
    if (err instanceof TracePulseError && (err.code === 'BAD_INPUT' || err.code === 'CONFLICT'))
      return fail(io, `${err.message}: ${err.problems.join('; ')}`);
    throw err;
  } finally {
    db.close();
  }
}

function fail(io: UserCommandIo, message: string): number {
  io.stderr(`${message}\n`);
  return 2;
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal without echo (raw mode); Ctrl-C aborts. */
function promptHidden(io: UserCommandIo, question: string): Promise<string> {
  io.stderr(question);
  const stdin = io.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(null);
        if (ch === '\u0003') return done(new Error('aborted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (err: Error | null) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr('\n');
      if (err) reject(err);
      else resolve(value);
    };
    stdin.on('data', onData);
  });
}
