import { describe, expect, test } from 'bun:test';
import type { DebugEvent } from '../../src/core/event.ts';
import type { LogLevel, LogLine } from '../../src/core/log-line.ts';
import { createEvidenceGatherer, MAX_LOG_ROWS, WINDOW_MS } from '../../src/pipeline/gather.ts';
import { createServiceNames } from '../../src/pipeline/service-names.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createLogPatterns } from '../../src/store/log-patterns.ts';
import { createIngestWriter } from '../../src/store/ingest-writer.ts';
import { graphOf, HOUR, MIN, station, T } from '../analyze/fixtures.ts';

const line = (
  service: string,
  level: LogLevel,
  message: string,
  ts: number,
  correlationId: string | null = null,
): LogLine => ({
  timestamp: ts,
  service,
  level,
  message,
  correlationId,
  attributes: null,
  source: 'http',
});

const ev = (over: Partial<DebugEvent> & { id: string; timestamp: number }): DebugEvent => ({
  eventType: 'SESSION_DROP',
  service: 'SessionManager',
  errorCode: 'TIMEOUT',
  correlationId: 'sess-7f3a',
  details: {},
  priority: 'high',
  receivedAt: over.timestamp,
  message: null,
  source: 'http',
  ...over,
});

async function setup(lines: LogLine[], events: DebugEvent[] = []) {
  const db = openDatabase(':memory:');
  const writer = createIngestWriter(db);
  await writer.writeLogs(lines);
  for (const e of events) await writer.writeEvent(e);
  const trigger = ev({ id: 'trigger', timestamp: T });
  await writer.writeEvent(trigger);
  const names = createServiceNames(db, { now: () => T });
  const patterns = createLogPatterns(db);
  while (patterns.indexPending() > 0);
  const gather = (extra: Partial<Parameters<ReturnType<typeof createEvidenceGatherer>['gather']>[0]> = {}) =>
    createEvidenceGatherer(db, { patterns }).gather({
      event: trigger,
      graph: station,
      candidates: station.candidates('evse_manager_1'),
      knownNames: names.all(),
      changes: [],
      lookbackMs: 7 * 24 * HOUR,
      ...extra,
    });
  return { db, gather };
}

describe('evidence gathering', () => {
  test('windows end at the event timestamp and reach 15 minutes back', async () => {
    const { gather } = await setup([
      line('PowerMeterDC', 'error', 'Modbus timeout (in window)', T - 14 * MIN),
      line('PowerMeterDC', 'error', 'Modbus timeout (too old)', T - 16 * MIN),
      line('PowerMeterDC', 'error', 'Modbus timeout (after the event)', T + 1000),
    ]);
    const msgs = gather().logs.map((l) => l.message);
    expect(msgs).toEqual(['Modbus timeout (in window)']);
  });

  test("a candidate's line tagged with another session is marked as that session's", async () => {
    const { gather } = await setup([
      line(
        'PowerMeterDC',
        'error',
        'EV ended session: EVCommunicationError',
        T - 90_000,
        'sess-other-connector',
      ),
      line('PowerMeterDC', 'error', 'Modbus timeout reading 0x3000', T - 60_000),
      line('ocpp', 'warn', 'StopTransaction rejected by CSMS', T - 30_000, 'sess-7f3a'),
    ]);
    const logs = gather().logs;
    const by = (m: string) => logs.find((l) => l.message.startsWith(m));
    expect(by('EV ended session')?.otherSession).toBe(true);
    expect(by('Modbus timeout')?.otherSession).toBeUndefined();
    expect(by('StopTransaction')?.otherSession).toBeUndefined();
  });

  test('same-session lines of any level and service come in; other info lines do not', async () => {
    const { gather } = await setup([
      line('ocpp', 'info', 'TransactionEvent Updated sent', T - 30_000, 'sess-7f3a'),
      line('PowerMeterDC', 'info', 'meter value 11.2 kWh', T - 20_000),
      line('display', 'info', 'session screen shown', T - 10_000),
    ]);
    const logs = gather().logs;
    expect(logs.map((l) => [l.service, l.correlated])).toEqual([['ocpp', true]]);
  });

  test('warnings of services outside the candidates come in too (the map may miss the edge), within the window', async () => {
    const { gather } = await setup([
      line('display', 'warn', 'touch controller reset', T - 10_000),
      line('display', 'warn', 'touch controller reset (old)', T - 16 * MIN),
    ]);
    expect(gather().logs.map((l) => [l.service, l.message])).toEqual([['display', 'touch controller reset']]);
  });

  test('log service names are resolved through aliases and other spellings seen in the store', async () => {
    const { gather } = await setup([
      line('evse-manager-1', 'error', 'Charger::run_state_machine: stuck in PrepareCharging', T - 15_000),
      line('PowerSupplyDC', 'warn', 'CAN rx timeout on can0', T - 40_000),
    ]);
    const services = gather()
      .logs.map((l) => l.service)
      .sort();
    expect(services).toEqual(['PowerSupplyDC', 'evse-manager-1']);
  });

  test('patterns seen in the baseline day come back as history; the trigger is not its own history', async () => {
    const earlier = Array.from({ length: 30 }, (_, i) =>
      line(
        'IsolationMonitor',
        'warn',
        `Isolation resistance ${400 + i} kOhm below threshold`,
        T - 2 * HOUR - i * MIN,
      ),
    );
    const { gather } = await setup(
      [
        ...earlier,
        line('IsolationMonitor', 'warn', 'Isolation resistance 399 kOhm below threshold', T - MIN),
      ],
      [
        ev({ id: 'old-1', timestamp: T - 3 * HOUR, service: 'evse_manager_1' }),
        ev({ id: 'old-2', timestamp: T - 2 * HOUR }),
        ev({ id: 'later', timestamp: T + MIN }),
        ev({ id: 'other-code', timestamp: T - HOUR, errorCode: 'MREC9AuthorizationTimeout' }),
      ],
    );
    const b = gather();
    expect(b.history).toEqual([
      {
        service: 'IsolationMonitor',
        pattern: 'Isolation resistance <n> kOhm below threshold',
        count: 30,
        firstTs: T - 2 * HOUR - 29 * MIN,
        sampled: false,
      },
    ]);
    expect(b.failureHistory.count).toBe(2);
    expect(b.failureHistory.timestamps).toEqual([T - 3 * HOUR, T - 2 * HOUR]);
  });

  test("other instances' events are merged by id: the session's and the candidates', in the window only", async () => {
    const { gather } = await setup(
      [],
      [
        ev({
          id: 'local',
          timestamp: T - MIN,
          service: 'PowerMeterDC',
          errorCode: 'MODBUS',
          priority: 'low',
        }),
      ],
    );
    const remote = (id: string, ts: number, service: string, correlationId: string | null) => ({
      id,
      ts,
      eventType: 'FAULT',
      service,
      errorCode: `E_${id}`,
      message: null,
      correlationId,
    });
    const events = gather({
      externalEvents: [
        remote('local', T - MIN, 'PowerMeterDC', 'sess-7f3a'), // the same event, also in the local store
        remote('trigger', T, 'SessionManager', 'sess-7f3a'), // the trigger itself
        remote('session', T - 30_000, 'display', 'sess-7f3a'),
        remote('candidate', T - 20_000, 'PowerMeterDC', null),
        remote('session', T - 30_000, 'display', 'sess-7f3a'), // read from two streams
        remote('unrelated', T - 20_000, 'display', 'sess-other'),
        remote('too-old', T - 16 * MIN, 'PowerMeterDC', 'sess-7f3a'),
        remote('after', T + 1000, 'PowerMeterDC', 'sess-7f3a'),
      ],
    }).events;
    expect(events.map((e) => e.id).sort()).toEqual(['candidate', 'local', 'session']);
    expect(events.find((e) => e.id === 'local')?.errorCode).toBe('MODBUS');
    expect(events.find((e) => e.id === 'session')?.correlated).toBe(true);
    expect(events.find((e) => e.id === 'candidate')?.correlated).toBe(false);
  });

  test('evidence is capped however much a candidate logs', async () => {
    const flood = Array.from({ length: MAX_LOG_ROWS + 200 }, (_, i) =>
      line('bsp', 'error', `evSerial: CRC mismatch frame ${i}`, T - 200_000 + i * 100),
    );
    const { gather } = await setup(flood);
    const b = gather();
    expect(b.logs.length).toBe(MAX_LOG_ROWS);
    expect(b.logsTruncated).toBe(true);
    // The newest lines are the ones kept.
    expect(Math.max(...b.logs.map((l) => l.ts))).toBe(T - 200_000 + (MAX_LOG_ROWS + 199) * 100);
  });

  test('a token reader the map leaves out but the manifests imply is checked for going quiet (EVerest#90)', async () => {
    const depot = graphOf(`
services:
  auth:
    module: Auth
    depends_on: [ocpp201]
  ocpp201:
    module: OCPP201
  pn532:
    module: PN532TokenProvider (/dev/ttyS4)
`);
    const { gather } = await setup([
      line('pn532', 'warn', 'Packet of length 0 received that is not a ACK Frame.', T - 33 * MIN),
      line('ocpp201', 'info', 'Heartbeat.conf currentTime accepted', T - MIN),
    ]);
    const b = gather({ graph: depot, candidates: depot.candidates('auth') });
    expect(b.wentQuiet).toContain('pn532');
    expect(b.wentQuiet).not.toContain('ocpp201');
  });
});

describe('when a pattern began (PatternHistory.began)', () => {
  const illegal = 'Modbus address 777 is not registered (unit id 226)';
  // Every 30 min from `from` hours before the trigger, and once in the window.
  const every30 = (from: number) => [
    ...Array.from({ length: from * 2 }, (_, i) =>
      line('PowerMeterDC', 'warn', illegal, T - from * HOUR + i * 30 * MIN + 1000),
    ),
    line('PowerMeterDC', 'warn', illegal, T - 2 * MIN),
  ];

  test('is its first line in the look-back when its rate since would have shown it before', async () => {
    const { gather } = await setup([line('PowerMeterDC', 'info', 'poll ok', T - 72 * HOUR), ...every30(53)]);
    const h = gather().history.find((x) => x.pattern.startsWith('Modbus address'))!;
    expect(h.began).toBe(T - 53 * HOUR + 1000);
  });

  test('is unknown when the pattern is as old as its service’s records', async () => {
    const { gather } = await setup(every30(53));
    const h = gather().history.find((x) => x.pattern.startsWith('Modbus address'))!;
    expect(h.began).toBeUndefined();
  });

  test('is unknown for a rare message: its first line may come any time', async () => {
    const { gather } = await setup([
      line('PowerMeterDC', 'info', 'poll ok', T - 72 * HOUR),
      line('PowerMeterDC', 'warn', illegal, T - 53 * HOUR),
      line('PowerMeterDC', 'warn', illegal, T - 2 * HOUR),
      line('PowerMeterDC', 'warn', illegal, T - 2 * MIN),
    ]);
    const h = gather().history.find((x) => x.pattern.startsWith('Modbus address'))!;
    expect(h.began).toBeUndefined();
  });
});

describe('when the failing session began (EvidenceBundle.sessionBegan)', () => {
  test('is its first warning or worse in the look-back, however long before the window', async () => {
    const { gather } = await setup([
      line('EvseManager', 'info', 'session started', T - 5 * HOUR, 'sess-7f3a'),
      line('OCPP', 'warn', 'Myenergi server request problem', T - 4 * HOUR - 36 * MIN, 'sess-7f3a'),
      line('OCPP', 'warn', 'Myenergi server request problem', T - 2 * MIN, 'sess-7f3a'),
      line('OCPP', 'error', 'unrelated session fault', T - 6 * HOUR, 'sess-other'),
    ]);
    expect(gather().sessionBegan).toBe(T - 4 * HOUR - 36 * MIN);
  });

  test('comes from an outside log store too, and is absent without a session', async () => {
    const { gather } = await setup([]);
    const external = [
      {
        ts: T - 3 * HOUR,
        service: 'OCPP',
        level: 'error' as const,
        message: 'CSMS unreachable',
        correlationId: 'sess-7f3a',
      },
    ];
    expect(gather({ external }).sessionBegan).toBe(T - 3 * HOUR);
    expect(gather().sessionBegan).toBeUndefined();
  });
});

describe("the window reaches back to the failing service's own trouble (no session id)", () => {
  // The trigger is SessionManager's; its lines carry no correlationId (most station logs carry none).
  const crashLoop = (fromMin: number, toMin: number, every: number) =>
    Array.from({ length: Math.floor((fromMin - toMin) / every) + 1 }, (_, i) =>
      line(
        'SessionManager',
        'error',
        'InitDeviceModelDb: Database does not support migrations yet',
        T - (fromMin - i * every) * MIN,
      ),
    );

  test('to the first of its latest run of warnings, even when the last came before the window', async () => {
    const { gather } = await setup([
      ...crashLoop(40, 7, 3),
      line('PowerMeterDC', 'warn', 'Modbus timeout', T - 39 * MIN),
    ]);
    const b = gather();
    expect(b.windowMs).toBe(42 * MIN);
    expect(b.logs.map((l) => l.message)).toContain('Modbus timeout');
  });

  test('not across a quiet gap longer than ten minutes', async () => {
    const { gather } = await setup([...crashLoop(55, 50, 5), ...crashLoop(20, 8, 4)]);
    expect(gather().windowMs).toBe(22 * MIN);
  });

  test('not at all when its last warning is more than ten minutes old', async () => {
    const { gather } = await setup(crashLoop(45, 26, 5));
    expect(gather().windowMs).toBe(WINDOW_MS);
  });
});
