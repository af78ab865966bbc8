import { expect, test } from 'bun:test';
import type { DebugEvent } from '../../src/core/event.ts';
import { createEvidenceGatherer } from '../../src/pipeline/gather.ts';
import { createServiceNames } from '../../src/pipeline/service-names.ts';
import { relevant } from '../../src/core/log-source.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createIngestWriter } from '../../src/store/ingest-writer.ts';
import { createLogPatterns } from '../../src/store/log-patterns.ts';
import { HOUR, station, T } from '../analyze/fixtures.ts';

const trigger: DebugEvent = {
  id: 'trigger',
  eventType: 'SESSION_DROP',
  service: 'SessionManager',
  errorCode: 'TIMEOUT',
  correlationId: 'sess-7f3a',
  details: {},
  priority: 'high',
  receivedAt: T,
  timestamp: T,
  message: null,
  source: 'http',
};

test('remote lines merge with local evidence without duplicates, and only remote ones are added', async () => {
  const db = openDatabase(':memory:');
  const writer = createIngestWriter(db);
  const local = 'IMD self test failed: insulation resistance 41 kOhm below 100 kOhm';
  await writer.writeLogs([
    {
      timestamp: T - 9_000,
      service: 'IMD',
      level: 'error',
      message: local,
      correlationId: null,
      attributes: null,
      source: 'http',
    },
  ]);
  await writer.writeEvent(trigger);
  const patterns = createLogPatterns(db);
  while (patterns.indexPending() > 0);
  const remote = relevant(
    [
      // The same line as stored locally (Loki has ns precision; ms are what both keep).
      { ts: T - 9_000, service: 'IMD', level: 'error', message: local, correlationId: null },
      { ts: T - 9_000, service: 'IMD', level: 'error', message: local, correlationId: null },
      {
        ts: T - 4_000,
        service: 'SessionManager',
        level: 'info',
        message: 'session sess-7f3a: stop reason EVDisconnected',
        correlationId: null,
      },
      {
        ts: T - 3_000,
        service: 'PowerMeterDC',
        level: 'info',
        message: 'meter value 231.2 V',
        correlationId: null,
      },
      { ts: T - 400_000, service: 'IMD', level: 'error', message: 'outside the window', correlationId: null },
    ],
    {
      correlationId: 'sess-7f3a',
      services: ['IMD', 'PowerMeterDC', 'SessionManager'],
      since: T - 300_000,
      until: T,
    },
  );
  const evidence = createEvidenceGatherer(db, { patterns }).gather({
    event: trigger,
    graph: station,
    candidates: station.candidates('evse_manager_1'),
    knownNames: createServiceNames(db, { now: () => T }).all(),
    changes: [],
    lookbackMs: 7 * 24 * HOUR,
    external: remote,
  });
  expect(evidence.logs.map((l) => [l.service, l.message, l.correlated])).toEqual([
    ['IMD', local, false],
    ['SessionManager', 'session sess-7f3a: stop reason EVDisconnected', true],
  ]);
});
