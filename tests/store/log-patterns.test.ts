import { describe, expect, test } from 'bun:test';
import { openDatabase } from '../../src/store/db.ts';
import { createLogPatterns } from '../../src/store/log-patterns.ts';

const HOUR = 3_600_000;
const T = Date.UTC(2026, 10, 25, 9, 41, 30);

function store(lines: Array<[number, string, number, string]>) {
  const db = openDatabase(':memory:');
  const ins = db.prepare('INSERT INTO logs (ts, service, level, message, source) VALUES (?, ?, ?, ?, ?)');
  for (const [ts, service, level, message] of lines) ins.run(ts, service, level, message, 'http');
  return { db, ins, patterns: createLogPatterns(db) };
}

describe('log pattern counts', () => {
  test('warn+ lines are counted per service and pattern; info lines are not', () => {
    const { patterns } = store([
      [T - 3 * HOUR, 'imd', 2, 'Isolation resistance 480 kOhm below threshold'],
      [T - 2 * HOUR, 'imd', 2, 'Isolation resistance 470 kOhm below threshold'],
      [T - 2 * HOUR, 'imd', 1, 'Self test passed in 120 ms'],
      [T - 2 * HOUR, 'bsp', 3, 'Isolation resistance 1 kOhm below threshold'],
    ]);
    while (patterns.indexPending(2) > 0);
    const h = patterns.history(
      [
        { service: 'imd', pattern: 'Isolation resistance <n> kOhm below threshold' },
        { service: 'imd', pattern: 'Self test passed in <n> ms' },
      ],
      T - 24 * HOUR,
      T,
    );
    expect(h).toEqual([
      {
        service: 'imd',
        pattern: 'Isolation resistance <n> kOhm below threshold',
        count: 2,
        firstTs: T - 3 * HOUR,
      },
    ]);
  });

  test('the hour holding the window start counts a pattern only if it appeared before the window', () => {
    const hourStart = Math.floor(T / HOUR) * HOUR;
    const { patterns } = store([
      [hourStart + 60_000, 'slac', 3, 'Connection lost in matched state'],
      [T + 60_000, 'slac', 3, 'CM_SLAC_PARM timeout'],
    ]);
    while (patterns.indexPending() > 0);
    const ask = (pattern: string) => patterns.history([{ service: 'slac', pattern }], T - 24 * HOUR, T);
    expect(ask('Connection lost in matched state')).toEqual([
      { service: 'slac', pattern: 'Connection lost in matched state', count: 1, firstTs: hourStart + 60_000 },
    ]);
    expect(ask('CM_SLAC_PARM timeout')).toEqual([]);
  });

  test('indexing resumes where it stopped and reads a bounded span per call', () => {
    const { ins, patterns } = store([]);
    for (let i = 0; i < 50; i++) ins.run(T - HOUR, 'ocpp', 2, `Websocket pong timeout ${i}`, 'http');
    expect(patterns.backlog()).toBe(50);
    expect(patterns.indexPending(20)).toBe(20);
    expect(patterns.backlog()).toBe(30);
    while (patterns.indexPending(20) > 0);
    ins.run(T - HOUR, 'ocpp', 2, 'Websocket pong timeout 99', 'http');
    expect(patterns.indexPending()).toBe(1);
    const [h] = patterns.history(
      [{ service: 'ocpp', pattern: 'Websocket pong timeout <n>' }],
      T - 2 * HOUR,
      T,
    );
    expect(h?.count).toBe(51);
  });
});
