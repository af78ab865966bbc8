/** @jsxImportSource hono/jsx */
import { roles } from '../../auth/roles.ts';
import type { Session } from '../../auth/session.ts';
import { adjustmentsTag } from '../../learn/model.ts';
import type { StoredModel } from '../../store/learn-store.ts';
import type { User } from '../../store/user-store.ts';
import { dayClock } from './report-message.tsx';

/** Admin: users and their roles. */
export function AdminView(p: {
  session: Session;
  users: User[];
  notice?: { kind: 'ok' | 'error'; text: string };
}) {
  return (
    <section class="admin" aria-labelledby="h-users">
      <h1 id="h-users">Users</h1>
      {p.notice ? (
        <p class={`notice ${p.notice.kind}`} role={p.notice.kind === 'error' ? 'alert' : 'status'}>
          {p.notice.text}
        </p>
      ) : null}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Since</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {p.users.map((u) => (
            <tr>
              <td>{u.name}</td>
              <td>
                <form
                  method="post"
                  action={`/chat/admin/users/${encodeURIComponent(u.name)}/role`}
                  class="inline"
                >
                  <input type="hidden" name="_csrf" value={p.session.csrf} />
                  <select name="role" aria-label={`Role of ${u.name}`}>
                    {roles.map((r) => (
                      <option value={r} selected={r === u.role}>
                        {r}
                      </option>
                    ))}
                  </select>{' '}
                  <button type="submit">Save</button>
                </form>
              </td>
              <td>{dayClock(u.createdAt)}</td>
              <td>
                {u.name !== p.session.name ? (
                  <form
                    method="post"
                    action={`/chat/admin/users/${encodeURIComponent(u.name)}/remove`}
                    class="inline"
                  >
                    <input type="hidden" name="_csrf" value={p.session.csrf} />
                    <button type="submit" class="danger">
                      Remove
                    </button>
                  </form>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Add a user</h2>
      <form method="post" action="/chat/admin/users" class="adduser">
        <input type="hidden" name="_csrf" value={p.session.csrf} />
        <label>
          Name <input name="name" required maxlength={64} autocomplete="off" />
        </label>
        <label>
          Role{' '}
          <select name="role">
            {roles.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Password{' '}
          <input name="password" type="password" required minlength={8} autocomplete="new-password" />
        </label>
        <button type="submit">Add</button>
      </form>
    </section>
  );
}

/** Learning: the adjustments in force and every gate decision with its figures. */
export function LearningView(p: {
  active: string;
  models: StoredModel[];
  feedbackCount: number;
  enabled: boolean;
}) {
  const pc = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : 'n/a');
  // Decisions stored before the gate judged labelled reports leave-one-out kept a "feedback" tally.
  type Tally = { total: number; before: number; after: number };
  const tally = (f: { reports?: Tally; feedback?: Tally }) => {
    const t = f.reports ?? f.feedback;
    return t ? `${pc(t.before, t.total)} → ${pc(t.after, t.total)} (n=${t.total})` : 'n/a';
  };
  return (
    <section class="learning" aria-labelledby="h-learn">
      <h1 id="h-learn">Learning from feedback</h1>
      <p>
        In force: <code>{p.active}</code> · {p.feedbackCount} feedback item(s) · learning{' '}
        {p.enabled ? 'on' : 'off'}
      </p>
      <p class="muted">
        Each correction or confirmation re-learns the multipliers of its event type/error code; the gate ranks
        the station's confirmed and corrected reports again, each under the candidate learnt without it
        (leave-one-out), and refuses anything that lowers their accuracy.
      </p>
      {p.models.length === 0 ? (
        <p class="empty">
          No learning runs yet. Open a report, and under “Feedback” confirm the top hypothesis or correct it
          to the real root cause; each feedback starts a run, listed here with its gate figures.
        </p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Version</th>
              <th>Status</th>
              <th>Labelled reports before → after</th>
              <th>Contexts</th>
              <th>When</th>
            </tr>
          </thead>
          <tbody>
            {p.models.map((m) => (
              <tr class={m.status}>
                <td>
                  <code>{m.version}</code>
                </td>
                <td>{m.status}</td>
                <td>{tally(m.figures)}</td>
                <td>
                  {m.figures.changedContexts.map((k) => (
                    <details>
                      <summary>
                        {k}
                        {m.contexts[k] ? (
                          <>
                            {' '}
                            <code title="reports ranked with these carry it in modelVersion">
                              +{adjustmentsTag(m.contexts[k])}
                            </code>
                          </>
                        ) : (
                          ' (removed)'
                        )}
                      </summary>
                      <pre>{JSON.stringify(m.contexts[k] ?? {}, null, 1)}</pre>
                    </details>
                  ))}
                </td>
                <td>{dayClock(m.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
