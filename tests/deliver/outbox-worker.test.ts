import { afterEach, describe, expect, test } from 'bun:test';
import { createManualClock } from '../../src/core/clock.ts';
import { backoffDelay, classify } from '../../src/deliver/outbox-retry.ts';
import { DeliveryError, type OutboxMessage, type Sink } from '../../src/deliver/sink.ts';
import { sampleEvent, sampleReport } from './support/fixtures.ts';
import { startHarness, waitFor } from './support/harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A sink whose outcome per try is scripted by the test. */
function scriptedSink(
  outcome: (m: OutboxMessage, tryNo: number) => 'ok' | Error | 'hang',
  timeoutMs = 300,
): Sink & { seen: Array<{ reportId: string; attempt: number; maybeSent: boolean }>; delivered: string[] } {
  const tries = new Map<number, number>();
  const seen: Array<{ reportId: string; attempt: number; maybeSent: boolean }> = [];
  const delivered: string[] = [];
  return {
    channel: 'slack',
    timeoutMs,
    accepts: () => true,
    seen,
    delivered,
    async send(m) {
      const n = (tries.get(m.id) ?? 0) + 1;
      tries.set(m.id, n);
      seen.push({ reportId: m.reportId, attempt: m.attempt, maybeSent: m.maybeSent });
      const o = outcome(m, n);
      if (o === 'hang') return new Promise(() => {});
      if (o instanceof Error) throw o;
      delivered.push(m.reportId);
      return { ok: true };
    },
  };
}

async function harness(sink: Sink, env: Record<string, string> = {}) {
  const h = await startHarness({ sinks: [sink], env });
  cleanups.push(() => h.cleanup());
  return h;
}

const createReports = (h: Awaited<ReturnType<typeof harness>>, n: number) =>
  Array.from({ length: n }, () => {
    const r = sampleReport();
    h.reports.create(r, sampleEvent());
    return r.id;
  });

describe('outbox worker', () => {
  test('transient failures keep per-channel order: the next message waits for the head', async () => {
    const sink = scriptedSink((_m, n) => (n <= 2 ? new DeliveryError('transient', 'HTTP 502') : 'ok'));
    const h = await harness(sink);
    const ids = createReports(h, 5);
    await waitFor('all delivered', () => sink.delivered.length === 5);
    expect(sink.delivered).toEqual(ids);
    // No message was tried before the one ahead of it was delivered.
    const firstTry = ids.map((id) => sink.seen.findIndex((s) => s.reportId === id));
    const lastTry = ids.map((id) => sink.seen.findLastIndex((s) => s.reportId === id));
    for (let i = 1; i < ids.length; i++) expect(firstTry[i]!).toBeGreaterThan(lastTry[i - 1]!);
  });

  test('dead after TRACEPULSE_OUTBOX_MAX_ATTEMPTS transient answers; the channel then moves on', async () => {
    const sink = scriptedSink((m) =>
      m.payload.report.id === first ? new DeliveryError('transient', 'HTTP 500') : 'ok',
    );
    let first = '';
    const h = await harness(sink, { TRACEPULSE_OUTBOX_MAX_ATTEMPTS: '3' });
    [first] = createReports(h, 2) as [string];
    await waitFor('second delivered', () => sink.delivered.length === 1);
    const dead = h.cm.repo.list({ status: 'dead' });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ reportId: first, failures: 2, attempts: 3 });
    expect(dead[0]!.lastError).toContain('after 3 failed tries');
    expect(h.metrics.get('tracepulse_outbox_dead_total', { channel: 'slack' })).toBe(1);
  });

  test('an outage (no answer at all) never dead-letters: it only delays', async () => {
    let down = true;
    const sink = scriptedSink(() =>
      down ? Object.assign(new TypeError('Unable to connect'), { code: 'ECONNREFUSED' }) : 'ok',
    );
    const h = await harness(sink, { TRACEPULSE_OUTBOX_MAX_ATTEMPTS: '2' });
    createReports(h, 2);
    await waitFor('many tries', () => sink.seen.length >= 6);
    expect(h.cm.repo.list({ status: 'dead' })).toHaveLength(0);
    expect(h.cm.worker.channels().slack?.link).toBe('down');
    expect(h.metrics.render()).toContain('tracepulse_outbox_channel_up{channel="slack"} 0');
    expect(h.metrics.render()).toMatch(
      /tracepulse_outbox_oldest_pending_age_seconds\{channel="slack"\} [0-9.]+/,
    );
    down = false;
    await waitFor('delivered', () => sink.delivered.length === 2);
    expect(h.cm.worker.channels().slack?.link).toBe('up');
  });

  test('a send that hangs is abandoned at the time-out (on the injected clock) and retried flagged maybe-sent', async () => {
    const clock = createManualClock(Date.now());
    const sink = scriptedSink((_m, n) => (n === 1 ? 'hang' : 'ok'), 60_000);
    const h = await startHarness({ sinks: [sink], clock });
    cleanups.push(() => h.cleanup());
    createReports(h, 1);
    h.cm.worker.wake();
    await waitFor('the first try', () => sink.seen.length === 1);
    clock.advance(59_999);
    await Bun.sleep(0);
    expect(sink.seen.length).toBe(1);
    clock.advance(1);
    await waitFor('abandoned', () => h.cm.worker.channels().slack?.nextAttemptAt !== null);
    clock.advance(1_000); // past the back-off
    await waitFor('delivered', () => sink.delivered.length === 1);
    expect(sink.seen.map((s) => s.maybeSent)).toEqual([false, true]);
    expect(h.cm.repo.list({ status: 'sent' })[0]!.maybeSent).toBe(true);
  });

  test('stop() lets a send that hangs go after the grace on the injected clock, not before', async () => {
    const clock = createManualClock(Date.now());
    const sink = scriptedSink(() => 'hang', 60_000);
    const h = await startHarness({ sinks: [sink], clock });
    cleanups.push(() => h.cleanup());
    createReports(h, 1);
    h.cm.worker.wake();
    await waitFor('in flight', () => sink.seen.length === 1);
    let stopped = false;
    const stopping = h.cm.worker.stop().then(() => {
      stopped = true;
    });
    clock.advance(1_999);
    await Bun.sleep(0);
    expect(stopped).toBe(false);
    clock.advance(1);
    await waitFor('stopped', () => stopped, 1000);
    await stopping;
    // Abandoned at shutdown: the next start re-tries it flagged maybe-sent.
    expect(h.cm.repo.list({ status: 'sent' })).toHaveLength(0);
  });

  test('an unexpected error (a bug rendering one message) dead-letters it instead of retrying forever', async () => {
    let broken = '';
    const sink = scriptedSink((m) =>
      m.reportId === broken ? new TypeError("Cannot read properties of undefined (reading 'ts')") : 'ok',
    );
    const h = await harness(sink);
    [broken] = createReports(h, 2) as [string];
    await waitFor('second delivered', () => sink.delivered.length === 1);
    expect(h.cm.repo.list({ status: 'dead' })[0]!.lastError).toContain('TypeError');
  });

  test('a crash mid-send: at start-up the row is re-queued and the sink is told it may have been sent', async () => {
    const hang = scriptedSink(() => 'hang', 60_000);
    const h1 = await startHarness({ sinks: [hang] });
    const [id] = createReports(h1, 1);
    await waitFor('in flight', () => h1.cm.repo.list({ status: 'inflight' }).length === 1);
    // Simulate kill -9: the store is left as it is, nothing is marked.
    h1.db.close();
    const sink = scriptedSink(() => 'ok');
    const h2 = await startHarness({ sinks: [sink], dir: h1.dir });
    cleanups.push(() => h2.cleanup());
    await waitFor('delivered after restart', () => sink.delivered.length === 1);
    expect(sink.seen[0]).toMatchObject({ reportId: id, maybeSent: true, attempt: 2 });
  });

  test('a retry waits for its back-off on the injected clock: none before the clock moves, one after', async () => {
    const clock = createManualClock(Date.now());
    const sink = scriptedSink((_m, n) => (n === 1 ? new DeliveryError('transient', 'HTTP 503') : 'ok'));
    // A minute of back-off: with the system's timers this test would wait that long.
    const h = await startHarness({
      sinks: [sink],
      clock,
      env: { TRACEPULSE_OUTBOX_BACKOFF_MS: '60000', TRACEPULSE_OUTBOX_MAX_BACKOFF_MS: '60000' },
    });
    cleanups.push(() => h.cleanup());
    const [id] = createReports(h, 1);
    h.cm.worker.wake();
    await waitFor('the first try', () => sink.seen.length === 1);
    // The worker is parked on the back-off timer; wake-ups do not bypass the retry time.
    for (let i = 0; i < 5; i++) {
      h.cm.worker.wake();
      await Promise.resolve();
    }
    clock.advance(29_000);
    await Bun.sleep(0);
    expect(sink.seen.length).toBe(1);
    clock.advance(31_000);
    await waitFor('the retry after the back-off', () => sink.delivered.length === 1);
    expect(sink.delivered).toEqual([id as string]);
    expect(sink.seen.map((s) => s.attempt)).toEqual([1, 2]);
  });

  test('back-off doubles up to the ceiling, with jitter inside the delay', () => {
    const o = { initialMs: 1000, maxMs: 60_000, jitter: 0.5 };
    expect(backoffDelay(1, o, () => 1)).toBe(1000);
    expect(backoffDelay(1, o, () => 0)).toBe(500);
    expect(backoffDelay(4, o, () => 1)).toBe(8000);
    expect(backoffDelay(30, o, () => 1)).toBe(60_000);
    expect(backoffDelay(30, o, () => 0)).toBe(30_000);
  });

  test('errors are classified by code, never by message text', () => {
    expect(classify(Object.assign(new Error('whatever'), { code: 'ECONNREFUSED' })).kind).toBe('unreachable');
    const reset = classify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    expect([reset.kind, reset.maybeSent]).toEqual(['unreachable', true]);
    expect(classify(new Error('ECONNREFUSED in the text only')).kind).toBe('permanent');
  });
});
