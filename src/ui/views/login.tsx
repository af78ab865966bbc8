/** @jsxImportSource hono/jsx */
import { BarePage } from './layout.tsx';

/** The login form; `hint` tells a first user how to create an account. */
export function LoginPage(p: { next: string; error?: string; name?: string; noUsers: boolean }) {
  return (
    <BarePage title="Log in">
      <form method="post" action="/chat/login" class="login">
        <h1>TracePulse</h1>
        {p.error ? (
          <p class="notice error" role="alert">
            {p.error}
          </p>
        ) : null}
        {p.noUsers ? (
          <p class="notice">
            No users yet. On the gateway run <code>tracepulse user add NAME --role admin</code>.
          </p>
        ) : null}
        <input type="hidden" name="next" value={p.next} />
        <label>
          User <input name="name" autocomplete="username" required value={p.name ?? ''} autofocus />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
      </form>
    </BarePage>
  );
}
