import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalCommand } from '../../src/cli/eval.ts';
import { createFeedClient } from '../../src/replay/client.ts';
import { replayRecords } from '../../src/replay/replayer.ts';
import { parseStream } from '../../src/replay/stream.ts';
import { startLocalTarget } from '../../src/cli/local-target.ts';
import type { FeedTarget } from '../../src/replay/target.ts';

/** A TextOut that keeps what was written. */
const sink = () => {
  const chunks: string[] = [];
  return { write: (t: string) => chunks.push(t), text: () => chunks.join('') };
};

const fixture = join(import.meta.dir, '../fixtures/replay/ocpp-pong-timeout.ndjson');

describe('replay', () => {
  let target: FeedTarget;
  beforeAll(async () => {
    target = await startLocalTarget({ env: {}, ownMap: true });
  });
  afterAll(async () => {
    await target.stop();
  });

  test('the recorded LTE drop yields a report that blames the modem (network), over real HTTP', async () => {
    const parsed = parseStream(readFileSync(fixture, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const { results, counts } = await replayRecords(parsed.records, createFeedClient(target), {
      reportTimeoutMs: 10_000,
    });
    expect(counts).toEqual({ maps: 1, changes: 4, logs: 39, events: 2, triggers: 1 });
    expect(results).toHaveLength(1);
    const [r] = results;
    expect(r?.eventType).toBe('OCPP_DISCONNECT');
    expect(r?.label?.rootService).toBe('network');
    const top = [...(r?.report?.hypotheses ?? [])].sort((a, b) => a.rank - b.rank)[0];
    expect(top?.service).toBe('network');
    // A runtime fault: the libocpp commit is 12 days old and the config change came after the event.
    expect(top?.change).toBeUndefined();
  });

  test('the in-process service takes its settings from the given environment (API keys here)', async () => {
    const guarded = await startLocalTarget({ env: { TRACEPULSE_API_KEYS: 'replay-key-1' }, ownMap: true });
    try {
      expect(guarded.apiKey).toBe('replay-key-1');
      expect((await fetch(`${guarded.url}/api/reports`)).status).toBe(401);
      const parsed = parseStream(readFileSync(fixture, 'utf8'));
      if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
      const { results } = await replayRecords(parsed.records, createFeedClient(guarded));
      expect(results[0]?.report?.hypotheses.length).toBeGreaterThan(0);
    } finally {
      await guarded.stop();
    }
  });

  test('eval scores a folder of recorded cases against their labels, per fault class, with a gate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracepulse-cases-'));
    try {
      const text = readFileSync(fixture, 'utf8');
      writeFileSync(join(dir, 'right.ndjson'), text);
      // The same recording labelled with a service the evidence does not point at: a miss.
      writeFileSync(
        join(dir, 'wrong.ndjson'),
        text.replace(/"rootService": ?"network"/, '"rootService": "display"'),
      );
      const out = sink();
      expect(await evalCommand([dir, '--json'], out, sink())).toBe(0);
      const result = JSON.parse(out.text());
      expect(result.files).toBe(2);
      expect(result.summary.overall.n).toBe(2);
      expect(result.summary.overall.top1).toBe(1);
      expect(result.outcomes.map((o: { top1: boolean }) => o.top1).sort()).toEqual([false, true]);
      expect(result.summary.overall.brier).toBeGreaterThan(0);
      const gate = sink();
      expect(await evalCommand([dir, '--min-top1', '60'], sink(), gate)).toBe(1);
      expect(gate.text()).toContain('top-1 accuracy 50.0% is below the gate of 60%');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('eval names a label that no trigger answered (a low-priority event) instead of dropping the case', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracepulse-cases-'));
    try {
      const text = readFileSync(fixture, 'utf8');
      writeFileSync(join(dir, 'right.ndjson'), text);
      writeFileSync(
        join(dir, 'low.ndjson'),
        text.replace('"eventType": "OCPP_DISCONNECT",', '"eventType": "OCPP_DISCONNECT", "priority": "low",'),
      );
      const out = sink();
      const err = sink();
      expect(await evalCommand([dir], out, err)).toBe(0);
      expect(out.text()).toContain('1 labelled trigger(s) (1 label with no trigger, not scored)');
      expect(err.text()).toContain(
        'low.ndjson: label 8c0e1f2a-5b7d-4c61-9a3e-2f4d6b8a1c07 matches no trigger (no event with that correlationId is a trigger: priority high, or a trigger type of the map without a priority)',
      );
      const json = sink();
      expect(await evalCommand([dir, '--json'], json, sink())).toBe(0);
      expect(JSON.parse(json.text()).unmatchedLabels).toEqual([
        {
          file: expect.stringContaining('low.ndjson'),
          correlationId: '8c0e1f2a-5b7d-4c61-9a3e-2f4d6b8a1c07',
        },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bad stream is rejected with every problem and its line number', () => {
    const r = parseStream(
      [
        '{"type":"log","service":"ocpp","level":"loud","message":"x"}',
        'not json',
        '{"type":"change","id":"c1","service":"ocpp","kind":"commit","summary":"s"}',
        '{"type":"frame"}',
        '# a comment',
        '{"type":"event","eventType":"OCPP_DISCONNECT","service":"ocpp","errorCode":"ConnectionLost"}',
      ].join('\n'),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.some((p) => p.startsWith('line 1 (log): level'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('line 2: malformed JSON'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('line 3 (change): timestamp'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('line 4: unknown type "frame"'))).toBe(true);
    expect(r.problems).toHaveLength(4);
  });
});

describe('tracepulse replay (the CLI, as a separate process)', () => {
  test('prints a readable summary naming the root service, and --json the raw reports', async () => {
    const run = async (...args: string[]) => {
      const p = Bun.spawn(
        [process.execPath, join(import.meta.dir, '../../src/main.ts'), 'replay', fixture, ...args],
        {
          stdout: 'pipe',
          stderr: 'pipe',
          env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
        },
      );
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      return { out, err, code };
    };
    const text = await run();
    expect(text.err).toBe('');
    expect(text.code).toBe(0);
    expect(text.out).toContain('#1 (line 49) OCPP_DISCONNECT on OCPP: WebsocketPongTimeout');
    expect(text.out).toMatch(/\n {3}1\. network \(\d+%\)/);
    expect(text.out).toContain('expected network: top-1 match');
    expect(text.out).toContain('1 trigger, 1 report; top-1 1/1');

    const brief = await run('--brief');
    expect(brief.code).toBe(0);
    expect(brief.out).toMatch(/^49\tOCPP_DISCONNECT\tOCPP\tWebsocketPongTimeout\tnetwork\t0\.\d\d\t\n$/);

    const json = await run('--json');
    expect(json.code).toBe(0);
    const body = JSON.parse(json.out) as {
      results: Array<{ report: { hypotheses: Array<{ rank: number; service: string }> } }>;
    };
    expect(body.results[0]?.report.hypotheses.find((h) => h.rank === 1)?.service).toBe('network');
  });
});
