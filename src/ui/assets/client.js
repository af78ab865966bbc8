// TracePulse chat client: live updates over a WebSocket (reconnecting by itself), the phone menu and
// keyboard shortcuts. The pages work without it; it only adds liveness.
(() => {
  const body = document.body;
  const current = body.dataset.channel || '';
  const thread = document.querySelector('article.thread');
  const conn = document.getElementById('conn');
  const menu = document.getElementById('menu');

  const setSide = (open) => {
    body.classList.toggle('side-open', open);
    menu?.setAttribute('aria-expanded', String(open));
    if (open) document.querySelector('#sidebar a')?.focus();
  };
  menu?.addEventListener('click', () => setSide(!body.classList.contains('side-open')));

  document.addEventListener('keydown', (e) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (e.key === 'Escape' && body.classList.contains('side-open')) {
      setSide(false);
      menu?.focus();
    } else if (e.key === '/' && !typing) {
      const q = document.getElementById('question');
      if (q) {
        e.preventDefault();
        q.focus();
      }
    } else if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      const links = [...document.querySelectorAll('#sidebar a[data-channel]')];
      const i = links.findIndex((a) => a.getAttribute('aria-current') === 'page');
      const next = links[(i + (e.key === 'ArrowDown' ? 1 : -1) + links.length) % links.length];
      if (next) location.href = next.href;
    }
  });

  // Ask: show that the agent is working and prevent a double submit.
  const ask = document.getElementById('ask');
  ask?.addEventListener('submit', () => {
    ask.setAttribute('aria-busy', 'true');
    const b = ask.querySelector('button');
    if (b) {
      b.disabled = true;
      b.textContent = 'Thinking…';
    }
  });

  // Feedback: a chosen service means "rejected"; "rejected" needs a service.
  const fb = document.querySelector('form.fbform');
  if (fb) {
    const sel = fb.querySelector('select[name=rootService]');
    const sync = () => {
      const rejected = fb.querySelector('input[value=rejected]').checked;
      sel.required = rejected;
    };
    sel.addEventListener('change', () => {
      if (sel.value) fb.querySelector('input[value=rejected]').checked = true;
      sync();
    });
    for (const r of fb.querySelectorAll('input[name=verdict]')) r.addEventListener('change', sync);
    sync();
  }

  const badge = (channel, delta) => {
    const b = document.querySelector(`#sidebar a[data-channel="${CSS.escape(channel)}"] .badge`);
    if (!b) return;
    const n = Math.max(0, Number(b.dataset.count || 0) + delta);
    b.dataset.count = String(n);
    b.querySelector('.n').textContent = n ? String(n) : '';
  };

  let ws = null;
  let attempt = 0;
  let opened = false;
  const state = (s, text) => {
    if (!conn) return;
    conn.dataset.state = s;
    conn.textContent = text;
  };
  const send = (o) => {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify(o));
  };

  const onReport = (m) => {
    const list = document.getElementById('messages');
    if (list && m.channels.includes(current)) {
      const old = document.getElementById(`r-${m.reportId}`);
      const tpl = document.createElement('template');
      tpl.innerHTML = m.html.trim();
      const li = tpl.content.firstElementChild;
      li.classList.add('fresh');
      if (old) old.replaceWith(li);
      else list.append(li);
      const empty = document.getElementById('empty');
      if (empty) empty.hidden = true;
      if (document.visibilityState === 'visible') send({ type: 'seen', channel: current });
    }
    // An 'incident' notice is a new report too: the 2nd+ member of a storm.
    if (m.kind !== 'revised') for (const c of m.channels) if (c !== current) badge(c, 1);
    if (m.kind === 'incident') {
      for (const el of document.querySelectorAll(
        `[data-incident="${CSS.escape(m.incidentId)}"] .storm-count`,
      )) {
        el.textContent = String(m.count);
        el.parentElement.hidden = m.count < 2;
      }
    }
    if (thread && thread.dataset.report === m.reportId && m.kind === 'revised') refreshThread();
  };

  // A revision of the open report: swap in the new page but keep what the user is typing.
  const refreshThread = async () => {
    const q = document.getElementById('question');
    const typed = q ? q.value : '';
    const res = await fetch(location.href, { credentials: 'same-origin' });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const main = doc.getElementById('main');
    if (!main) return;
    document.getElementById('main').innerHTML = main.innerHTML;
    const q2 = document.getElementById('question');
    if (q2) q2.value = typed;
  };

  // After a reconnect, fetch the page again for what was missed while offline.
  const resync = async () => {
    const res = await fetch(location.href, { credentials: 'same-origin' });
    if (res.redirected && /\/chat\/login/.test(res.url)) return location.assign(res.url);
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const side = doc.getElementById('sidebar');
    if (side) document.getElementById('sidebar').innerHTML = side.innerHTML;
    const fresh = doc.getElementById('messages');
    const list = document.getElementById('messages');
    if (fresh && list) list.innerHTML = fresh.innerHTML;
  };

  const connect = () => {
    state('connecting', 'connecting');
    ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/chat/ws`);
    ws.onopen = () => {
      state('live', 'live');
      if (opened) resync();
      opened = true;
      attempt = 0;
      if (current) send({ type: 'seen', channel: current });
    };
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m.type === 'report') onReport(m);
      else if (m.type === 'expired') location.assign('/chat/login');
    };
    ws.onclose = () => {
      state('offline', 'offline, reconnecting');
      // Exponential back-off with jitter, capped at 30 s, so a fleet of phones does not stampede.
      const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt = Math.min(attempt + 1, 5);
      setTimeout(connect, delay);
    };
  };
  connect();
})();
