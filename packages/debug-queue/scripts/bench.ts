#!/usr/bin/env bun
/**
 * Benchmarks for the README:
 *  1. what one log() call costs its caller (p50/p99 over many calls, each timed on its own),
 *     with no destination, with TracePulse over HTTP and with the broker over MQTT;
 *  2. how many events/s and log lines/s reach the real TracePulse over HTTP, and events/s over MQTT
 *     (acknowledged by Mosquitto, then visible in TracePulse).
 * Needs Mosquitto on 127.0.0.1:1883; spawns TracePulse from src/main.ts.
 * Usage: bun packages/debug-queue/scripts/bench.ts [--calls 200000] [--paced 10000] [--events 5000] [--lines 20000] [--e2e 800]
 * Under node (after `npm run build`): the same figures need bun for TracePulse; run it with bun.
 */
import { arch, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createDebugQueue, type DebugQueue } from '../src/index.ts';
import { startTracePulse, uniquePrefix } from '../tests/helpers/tracepulse.ts';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '200000' },
    paced: { type: 'string', default: '10000' },
    e2e: { type: 'string', default: '800' },
    events: { type: 'string', default: '5000' },
    lines: { type: 'string', default: '20000' },
  },
});
const CALLS = Number(values.calls);
const EVENTS = Number(values.events);
const LINES = Number(values.lines);
const PACED = Number(values.paced);
const E2E = Number(values.e2e);

const now: () => number =
  typeof Bun !== 'undefined' ? () => Bun.nanoseconds() : () => Number(process.hrtime.bigint());

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const details = { userId: '123', sessionId: 'abc', edgeDevice: 'EV-Station-01', connectorId: '1' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Times each log() call alone. `flood`: back to back, yielding every 500 calls so delivery runs
 * alongside (the queue overflows: this includes the drop path). `paced`: 2 calls per millisecond,
 * below what the destination absorbs, closer to a station's life.
 */
async function callerCost(name: string, q: DebugQueue, mode: 'flood' | 'paced'): Promise<void> {
  const n = mode === 'flood' ? CALLS : PACED;
  const warm = mode === 'flood' ? 20_000 : 2_000;
  const samples = new Float64Array(n);
  for (let i = -warm; i < n; i++) {
    const t0 = now();
    // low: a high one would start an analysis in TracePulse, whose CPU use would then be measured here
    q.log(
      'SESSION_TIMEOUT',
      { service: 'SessionManager', errorCode: 'TIMEOUT', correlationId: `txn-${i}`, details },
      { priority: 'low' },
    );
    const t1 = now();
    if (i >= 0) samples[i] = t1 - t0;
    if (mode === 'flood' ? i % 500 === 0 : i % 2 === 0)
      await (mode === 'flood' ? new Promise((r) => setImmediate(r)) : sleep(1));
  }
  samples.sort();
  const us = (ns: number) => (ns / 1000).toFixed(2);
  const s = q.stats().primary;
  console.log(
    `log() caller cost, ${name}, ${mode}: p50 ${us(percentile(samples, 50))} µs, p90 ${us(percentile(samples, 90))} µs, ` +
      `p99 ${us(percentile(samples, 99))} µs, p99.9 ${us(percentile(samples, 99.9))} µs, max ${us(samples[n - 1]!)} µs ` +
      `over ${n} calls${s ? ` (delivered ${s.delivered}, dropped ${s.dropped.total})` : ''}`,
  );
}

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${arch()}, ` +
      `${typeof Bun !== 'undefined' ? `bun ${Bun.version}` : `node ${process.version}`}`,
  );
  const timerCost = (() => {
    const s = new Float64Array(100_000);
    for (let i = 0; i < s.length; i++) {
      const t0 = now();
      s[i] = now() - t0;
    }
    s.sort();
    return percentile(s, 50);
  })();
  console.log(`timer overhead (included in the figures below): p50 ${(timerCost / 1000).toFixed(3)} µs`);

  const tp = await startTracePulse({ prefix: uniquePrefix('bench'), waitMqtt: true });
  try {
    // 1. Caller cost.
    // Baselines: the same call shape into a function that does nothing, and the no-destination no-op.
    const empty = { log: () => {}, stats: () => ({ primary: undefined }) } as unknown as DebugQueue;
    const none = createDebugQueue({ silent: true });
    for (const mode of ['paced', 'flood'] as const) {
      await callerCost('baseline: empty function', empty, mode);
      await callerCost('no destination', none, mode);
    }
    for (const mode of ['paced', 'flood'] as const) {
      const http = createDebugQueue({ url: tp.url, maxQueue: 10_000 });
      await callerCost('HTTP to TracePulse', http, mode);
      await http.close(30_000);
      const mqtt = createDebugQueue({
        url: 'mqtt://127.0.0.1:1883',
        topicPrefix: tp.prefix,
        maxQueue: 10_000,
      });
      await callerCost('MQTT to Mosquitto', mqtt, mode);
      await mqtt.close(30_000);
    }

    // 2. Throughput, queue large enough to hold the whole burst.
    // Low-priority events: each high one (or a trigger type such as SESSION_DROP) also starts an
    // analysis in TracePulse, which is then what gets measured; `trigger` measures that on purpose.
    const burst = async (
      name: string,
      q: DebugQueue,
      n: number,
      kind: 'event' | 'trigger' | 'line',
      service: string,
    ) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        if (kind !== 'line') {
          q.log(
            kind === 'trigger' ? 'SESSION_DROP' : 'METER_VALUE_LATE',
            { service, errorCode: 'EVCommunicationError', correlationId: `txn-${service}-${i}`, details },
            kind === 'trigger' ? {} : { priority: 'low' },
          );
        } else {
          q.logLine('warn', `EvseSlac: Connection lost in matched state (${i})`, {
            service,
            correlationId: `txn-${service}-${i}`,
          });
        }
      }
      const ok = await q.flush(120_000);
      const ms = performance.now() - t0;
      const s = q.stats().primary!;
      console.log(
        `${name}: ${n} ${kind}s acknowledged in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)}/s ` +
          `(flushed ${ok}, delivered ${s.delivered}, retries ${s.retries}, dropped ${s.dropped.total})`,
      );
      return t0;
    };
    const cap = Math.max(EVENTS, LINES) + 1;
    const hq = createDebugQueue({ url: tp.url, maxQueue: cap });
    await burst('HTTP POST /webhook/event (8 concurrent)', hq, EVENTS, 'event', 'bench_http');
    await burst('HTTP POST /api/logs (NDJSON batches)', hq, LINES, 'line', 'bench_http_logs');
    await burst(
      'HTTP POST /webhook/event, SESSION_DROP (each starts an analysis)',
      hq,
      500,
      'trigger',
      'bench_trig',
    );
    await hq.close();

    const mq = createDebugQueue({ url: 'mqtt://127.0.0.1:1883', topicPrefix: tp.prefix, maxQueue: cap });
    await burst('MQTT QoS 1 to Mosquitto', mq, EVENTS, 'event', 'bench_mqtt');
    await mq.close();

    // End to end over MQTT: a burst small enough for Mosquitto's default per-subscriber queue
    // (max_queued_messages 1000); counted by TracePulse's own /metrics.
    const mqttStored = async () => {
      const text = await (await fetch(`${tp.url}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('tracepulse_events_total') && l.includes('source="mqtt"'))
        .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    };
    const base = await mqttStored();
    const e2e = createDebugQueue({ url: 'mqtt://127.0.0.1:1883', topicPrefix: tp.prefix, maxQueue: cap });
    const t0 = performance.now();
    for (let i = 0; i < E2E; i++) {
      e2e.log('METER_VALUE_LATE', {
        service: 'bench_e2e',
        errorCode: 'EVCommunicationError',
        correlationId: `txn-e2e-${i}`,
        details,
      });
    }
    await e2e.flush(60_000);
    let stored = 0;
    let last = -1;
    let stableSince = performance.now();
    while (stored < E2E && performance.now() - stableSince < 3000) {
      stored = (await mqttStored()) - base;
      if (stored !== last) stableSince = performance.now();
      last = stored;
      if (stored < E2E) await sleep(20);
    }
    const ms = performance.now() - t0;
    console.log(
      `MQTT end to end: ${stored} of ${E2E} events stored by TracePulse after ${ms.toFixed(0)} ms = ${Math.round((stored / ms) * 1000)}/s`,
    );
    await e2e.close();
  } finally {
    await tp.dispose();
  }
}

await main();
