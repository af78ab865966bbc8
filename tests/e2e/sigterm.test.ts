// Shutdown and crash safety of the compiled binary: events are posted concurrently, the process
// gets SIGTERM (as systemd, Docker and Kubernetes stop it) or SIGKILL in the middle of ingest,
// and after a restart on the same data folder every event that was acknowledged with a 2xx is
// there, exactly once.
import { afterAll, describe, expect, test } from 'bun:test';
import {
  compiledBinary,
  createProcessGroup,
  createTempDirs,
  type RunningServer,
  startServer,
  stationEvent,
} from '../deploy/support.ts';

const temp = createTempDirs('tp-sigterm');
const procs = createProcessGroup();
afterAll(async () => {
  await procs.killAll();
  temp.cleanup();
});

interface Load {
  acked: Set<string>;
  /** Answers that were neither 2xx nor a refused/reset connection. */
  unexpected: string[];
  done: Promise<void>;
}

/**
 * `workers` senders post events in a loop, each up to `perWorker`, until the server stops
 * answering. Only events answered with 2xx and status "processed" count as acknowledged.
 */
function fireEvents(server: RunningServer, correlationId: string, workers: number, perWorker: number): Load {
  const acked = new Set<string>();
  const unexpected: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; i < perWorker; i++) {
      const event = stationEvent(w * perWorker + i, correlationId);
      let res: Response;
      try {
        res = await fetch(`${server.url}/webhook/event`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(5000),
        });
      } catch {
        return; // refused or reset: the server is going or gone; nothing was acknowledged.
      }
      const body = await res.text();
      if (res.ok) {
        const parsed = JSON.parse(body) as { status?: string; eventId?: string };
        if (parsed.status === 'processed' && parsed.eventId === event.id) acked.add(event.id);
        else unexpected.push(`${res.status} ${body}`);
      } else if (res.status !== 503) {
        // 503 while shutting down is a fair refusal; anything else is a bug.
        unexpected.push(`${res.status} ${body}`);
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, (_, w) => worker(w))).then(() => {});
  return { acked, unexpected, done };
}

async function storedIds(server: RunningServer, correlationId: string): Promise<string[]> {
  const res = await fetch(`${server.url}/api/events?correlationId=${correlationId}&limit=1000`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { events: Array<{ id: string }> };
  return body.events.map((e) => e.id);
}

async function runScenario(signal: 'SIGTERM' | 'SIGKILL') {
  const exe = await compiledBinary('x64');
  const dataDir = temp.make();
  const correlationId = `tx-${signal.toLowerCase()}-${Date.now()}`;
  const first = await startServer(procs, [exe], { dataDir });

  // 8 senders x 110 events at most: under the API's page size of 1000.
  const load = fireEvents(first, correlationId, 8, 110);
  const deadline = Date.now() + 10_000;
  while (load.acked.size < 150 && Date.now() < deadline) await Bun.sleep(5);
  expect(load.acked.size).toBeGreaterThanOrEqual(150);

  const signalledAt = Date.now();
  first.proc.kill(signal);
  const exitCode = await first.proc.exited;
  const stopMs = Date.now() - signalledAt;
  await load.done;
  // The signal landed mid-ingest: the senders did not get to finish.
  expect(load.acked.size).toBeLessThan(8 * 110);

  const second = await startServer(procs, [exe], { dataDir });
  const stored = await storedIds(second, correlationId);
  second.proc.kill('SIGTERM');
  await second.proc.exited;

  return { first, exitCode, stopMs, load, stored };
}

describe('compiled binary, shutdown mid-ingest', () => {
  test('SIGTERM: exits 0 within seconds and keeps every acknowledged event', async () => {
    const { first, exitCode, stopMs, load, stored } = await runScenario('SIGTERM');
    expect(load.unexpected).toEqual([]);
    expect(exitCode, first.output()).toBe(0);
    // systemd's TimeoutStopSec is 20 s and Kubernetes' grace period 30 s; stay far below.
    expect(stopMs).toBeLessThan(5000);
    expect([...load.acked].filter((id) => !stored.includes(id))).toEqual([]);
    expect(new Set(stored).size).toBe(stored.length);
    expect(first.output()).toContain('SIGTERM received');
  }, 40_000);

  test('SIGKILL: nothing acknowledged is lost after a crash', async () => {
    const { load, stored, exitCode } = await runScenario('SIGKILL');
    expect(exitCode).not.toBe(0);
    expect(load.unexpected).toEqual([]);
    expect([...load.acked].filter((id) => !stored.includes(id))).toEqual([]);
    expect(new Set(stored).size).toBe(stored.length);
  }, 40_000);
});
