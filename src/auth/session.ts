import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { sign, verify } from 'hono/jwt';
import { parse as parseCookies } from 'hono/utils/cookie';
import type { Clock } from '../core/clock.ts';
import type { User, UserStore } from '../store/user-store.ts';
import type { Actor, Role } from './roles.ts';

export const sessionCookieName = 'tp_session';

export interface Session extends Actor {
  via: 'session';
  /** Expiry, epoch ms. */
  expiresAt: number;
  /** Per-session token for forms (double check beside the Origin check). */
  csrf: string;
}

export interface Sessions {
  /** Signs a session for `user` and sets it as an HttpOnly, SameSite=Strict cookie. */
  start(c: Context, user: User): Promise<void>;
  end(c: Context): void;
  /** The session of a request from its Cookie header; null when absent, invalid, expired or revoked. */
  read(req: Request): Promise<Session | null>;
  checkCsrf(session: Session, token: string | undefined): boolean;
}

/** JWT sessions (hono/jwt, HS256) in a cookie; the user's role is re-read from the store on every request. */
export function createSessions(options: {
  secret: string;
  users: Pick<UserStore, 'get'>;
  clock: Clock;
  ttlMs: number;
  secureCookie: boolean;
}): Sessions {
  const { secret, users, clock, ttlMs } = options;
  const csrfOf = (sub: string, iat: number) =>
    createHmac('sha256', secret).update(`csrf:${sub}:${iat}`).digest('base64url');
  return {
    async start(c, user) {
      const iat = Math.floor(clock.now() / 1000);
      const exp = iat + Math.floor(ttlMs / 1000);
      const token = await sign({ sub: user.name, gen: user.sessionGen, iat, exp }, secret, 'HS256');
      setCookie(c, sessionCookieName, token, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: options.secureCookie,
        path: '/',
        maxAge: exp - iat,
      });
    },
    end(c) {
      deleteCookie(c, sessionCookieName, { path: '/', secure: options.secureCookie });
    },
    async read(req) {
      const token = cookieValue(req.headers.get('cookie'), sessionCookieName);
      if (!token) return null;
      let payload: Record<string, unknown>;
      try {
        // Expiry is checked below against the injected clock, not the wall clock.
        payload = await verify(token, secret, { alg: 'HS256', exp: false, iat: false, nbf: false });
      } catch {
        return null;
      }
      const { sub, gen, iat, exp } = payload;
      if (typeof sub !== 'string' || typeof gen !== 'number' || typeof exp !== 'number') return null;
      if (typeof iat !== 'number' || exp * 1000 <= clock.now()) return null;
      const user = users.get(sub);
      if (!user || user.sessionGen !== gen) return null;
      return {
        name: user.name,
        role: user.role as Role,
        via: 'session',
        expiresAt: exp * 1000,
        csrf: csrfOf(sub, iat),
      };
    },
    checkCsrf(session, token) {
      if (!token) return false;
      const a = Buffer.from(session.csrf);
      const b = Buffer.from(token);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}

/**
 * One cookie's value from a Cookie header, by Hono's cookie parser: a malformed value
 * (`tp_session=%zz`) is kept undecoded (and then fails verification) instead of throwing.
 */
export function cookieValue(header: string | null, name: string): string | null {
  if (!header) return null;
  return parseCookies(header, name)[name] ?? null;
}
