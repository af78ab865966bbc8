import type { Database } from 'bun:sqlite';
import { type Role, roles } from '../core/roles.ts';
import { TracePulseError } from '../core/errors.ts';

export interface User {
  name: string;
  role: Role;
  createdAt: number;
  /** Bumped when the role or password changes or the user is removed; older sessions stop working. */
  sessionGen: number;
}

interface UserRow {
  name: string;
  role: string;
  password_hash: string;
  created_at: number;
  session_gen: number;
}

const toUser = (r: UserRow): User => ({
  name: r.name,
  role: r.role as Role,
  createdAt: r.created_at,
  sessionGen: r.session_gen,
});

export const userNamePattern = /^[A-Za-z0-9._@-]{1,64}$/;
export const minPasswordLength = 8;

// Verifying against this hash when the user does not exist keeps the response time of a wrong
// name equal to that of a wrong password (no user enumeration by timing).
let dummyHash: Promise<string> | null = null;

/** Users of the UI, with argon2id password hashes (Bun.password). */
export function createUserStore(db: Database) {
  const byName = db.query<UserRow, [string]>('SELECT * FROM users WHERE name = ?');
  return {
    async add(name: string, password: string, role: Role, now: number): Promise<User> {
      const problems: string[] = [];
      if (!userNamePattern.test(name)) problems.push('name: 1-64 characters of A-Z a-z 0-9 . _ @ -');
      if (password.length < minPasswordLength)
        problems.push(`password: at least ${minPasswordLength} characters`);
      if (!roles.includes(role)) problems.push(`role: one of ${roles.join(', ')}`);
      if (problems.length) throw new TracePulseError('BAD_INPUT', 'invalid user', { problems });
      if (byName.get(name))
        throw new TracePulseError('CONFLICT', `user '${name}' exists`, {
          problems: [`name: '${name}' exists`],
        });
      const hash = await Bun.password.hash(password, { algorithm: 'argon2id' });
      db.query(
        'INSERT INTO users (name, role, password_hash, created_at, session_gen) VALUES (?, ?, ?, ?, 0)',
      ).run(name, role, hash, now);
      return { name, role, createdAt: now, sessionGen: 0 };
    },
    get(name: string): User | null {
      const r = byName.get(name);
      return r ? toUser(r) : null;
    },
    list(): User[] {
      return db.query<UserRow, []>('SELECT * FROM users ORDER BY name').all().map(toUser);
    },
    count(): number {
      return db.query<{ n: number }, []>('SELECT COUNT(*) AS n FROM users').get()?.n ?? 0;
    },
    /** The user when the password matches; null otherwise (same cost either way). */
    async verify(name: string, password: string): Promise<User | null> {
      const r = byName.get(name);
      if (!r) {
        dummyHash ??= Bun.password.hash('not-a-real-password', { algorithm: 'argon2id' });
        await Bun.password.verify(password, await dummyHash);
        return null;
      }
      return (await Bun.password.verify(password, r.password_hash)) ? toUser(r) : null;
    },
    setRole(name: string, role: Role): boolean {
      return (
        db.query('UPDATE users SET role = ?, session_gen = session_gen + 1 WHERE name = ?').run(role, name)
          .changes > 0
      );
    },
    async setPassword(name: string, password: string): Promise<boolean> {
      if (password.length < minPasswordLength)
        throw new TracePulseError('BAD_INPUT', 'invalid password', {
          problems: [`password: at least ${minPasswordLength} characters`],
        });
      const hash = await Bun.password.hash(password, { algorithm: 'argon2id' });
      return (
        db
          .query('UPDATE users SET password_hash = ?, session_gen = session_gen + 1 WHERE name = ?')
          .run(hash, name).changes > 0
      );
    },
    remove(name: string): boolean {
      return db.query('DELETE FROM users WHERE name = ?').run(name).changes > 0;
    },
  };
}
export type UserStore = ReturnType<typeof createUserStore>;
