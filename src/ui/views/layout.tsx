/** @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { Session } from '../../auth/session.ts';
import { type Channel, channelPath } from '../channels.ts';
import { assetPath } from '../assets/assets.ts';

/** Standards mode for every page (JSX cannot write a doctype itself). */
const doctype = raw('<!doctype html>');
/** An inline icon, so browsers do not ask for /favicon.ico (a 404). */
const favicon =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M9 1 3 9h4l-1 6 6-8H8z' fill='%2300a86b'/%3E%3C/svg%3E";

const groups: Array<[Channel['group'], string]> = [
  ['reports', 'Reports'],
  ['incidents', 'Incidents'],
  ['stations', 'Stations'],
  ['services', 'Services'],
];

/** The page shell: top bar, channel sidebar, main pane. */
export function Layout(props: {
  title: string;
  session: Session;
  channels: Channel[];
  current: string | null;
  stationId: string;
  children: Child;
}) {
  const { session } = props;
  return (
    <>
      {doctype}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.title} · TracePulse</title>
          <link rel="icon" href={favicon} />
          <link rel="stylesheet" href={assetPath.css} />
          <script src={assetPath.js} defer />
        </head>
        <body data-channel={props.current ?? ''} data-role={session.role}>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="top">
            <button
              type="button"
              id="menu"
              aria-controls="sidebar"
              aria-expanded="false"
              aria-label="Channels"
            >
              ☰
            </button>
            <span class="brand">TracePulse</span>
            <span class="station">{props.stationId}</span>
            <span id="conn" class="conn" role="status" aria-live="polite" data-state="connecting">
              connecting
            </span>
            <span class="who">
              {session.name} <small>({session.role})</small>
            </span>
            <form method="post" action="/chat/logout" class="inline">
              <input type="hidden" name="_csrf" value={session.csrf} />
              <button type="submit" class="link">
                Log out
              </button>
            </form>
          </header>
          <div class="shell">
            <nav id="sidebar" aria-label="Channels">
              {groups.map(([g, label]) => {
                const list = props.channels.filter((c) => c.group === g);
                if (!list.length) return null;
                return (
                  <section>
                    <h2>{label}</h2>
                    <ul>
                      {list.map((c) => (
                        <li>
                          <a
                            href={channelPath(c.id)}
                            data-channel={c.id}
                            aria-current={c.id === props.current ? 'page' : undefined}
                          >
                            <span class="hash">#</span>
                            {c.label}
                            <span class="badge" data-count={c.unread}>
                              <span class="n">{c.unread || ''}</span>
                              <span class="sr"> unread</span>
                            </span>
                          </a>
                        </li>
                      ))}
                    </ul>
                  </section>
                );
              })}
              <section>
                <h2>More</h2>
                <ul>
                  <li>
                    <a href="/chat/learning">learning</a>
                  </li>
                  {session.role === 'admin' ? (
                    <li>
                      <a href="/chat/admin">users</a>
                    </li>
                  ) : null}
                </ul>
              </section>
            </nav>
            <main id="main" tabindex={-1}>
              {props.children}
            </main>
          </div>
        </body>
      </html>
    </>
  );
}

/** A bare page (login, errors): no sidebar, no session needed. */
export function BarePage(props: { title: string; children: Child }) {
  return (
    <>
      {doctype}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{props.title} · TracePulse</title>
          <link rel="icon" href={favicon} />
          <link rel="stylesheet" href={assetPath.css} />
        </head>
        <body class="bare">
          <main id="main">{props.children}</main>
        </body>
      </html>
    </>
  );
}
