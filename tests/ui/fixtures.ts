import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Change } from '../../src/core/change.ts';
import type { DebugEvent } from '../../src/core/event.ts';
import type { LogLine } from '../../src/core/log-line.ts';
import type { Report } from '../../src/core/report.ts';
import type { SystemGraph } from '../../src/map/graph.ts';
import { parseSystemMap } from '../../src/map/system-map.ts';
import type { AnswerFacts } from '../../src/ui/answer/types.ts';

export const T = Date.UTC(2026, 10, 25, 9, 41, 2);

export function exampleGraph(): SystemGraph {
  const r = parseSystemMap(readFileSync(join(import.meta.dir, '..', '..', 'system-map.yaml'), 'utf8'));
  if (!r.ok) throw new Error('example map invalid');
  return r.graph;
}

/** A DC session drop on connector 1 that the engine blamed on a PhyVersoBSP firmware commit. */
export const event: DebugEvent = {
  id: 'evt-0001',
  eventType: 'SESSION_DROP',
  service: 'EvseManager',
  errorCode: 'MREC14PilotFault',
  correlationId: 'txn-7781',
  details: { connector: '1', sessionId: 'ses-41b2' },
  priority: 'high',
  timestamp: T,
  receivedAt: T + 40,
  message: 'Charger::run_state_machine: CP state F while Charging',
  source: 'http',
};

export const bspCommit: Change = {
  id: '9f3c2a17d4e8b6a5c0d1e2f3a4b5c6d7e8f90123',
  sha: '9f3c2a17d4e8b6a5c0d1e2f3a4b5c6d7e8f90123',
  service: 'bsp',
  kind: 'commit',
  timestamp: T - 42 * 60_000,
  summary: 'PhyVersoBSP: debounce CP state changes (20 ms)\n\nReduce spurious state E reports.',
  files: ['modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp'],
  diff: [
    'diff --git a/modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp b/modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp',
    '--- a/modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp',
    '+++ b/modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp',
    '@@ -88,7 +88,9 @@ void evse_board_supportImpl::handle_cp_state_F() {',
    '-    if (cp_state_changed(now)) {',
    '+    // debounce: ignore flips shorter than 20 ms',
    '+    if (cp_state_changed(now) && now - last_flip > 20ms) {',
    '         publish_event(types::board_support_common::Event::F);',
    '     }',
  ].join('\n'),
  author: 'jdoe',
  url: null,
  repo: 'EVerest/everest-core',
};

export const meterConfig: Change = {
  id: 'cfg-2026-11-25-meter',
  sha: null,
  service: 'powermeter_dc',
  kind: 'config',
  timestamp: T - 3 * 3_600_000,
  summary: 'LemDCBM400600: poll interval 1 s -> 2 s',
  files: [],
  diff: null,
  author: 'ops',
  url: null,
  repo: null,
};

const log = (
  dt: number,
  service: string,
  level: LogLine['level'],
  message: string,
  corr = false,
): LogLine => ({
  timestamp: T + dt,
  service,
  level,
  message,
  correlationId: corr ? 'txn-7781' : null,
  attributes: null,
  source: 'http',
});

export const logs: LogLine[] = [
  log(-240_000, 'BoardSupport', 'info', 'evSerial: keep-alive ok'),
  log(-95_000, 'BoardSupport', 'warn', 'evSerial: CP duty cycle glitch 5% -> 0% for 12 ms'),
  log(-3_000, 'BoardSupport', 'error', 'evSerial::read_thread: CP state F reported while PWM on', true),
  log(-2_000, 'EvseManager', 'error', 'Charger: MREC14PilotFault raised, stopping transaction', true),
  log(-1_000, 'EvseManager', 'info', 'Charger: state Charging -> StoppingCharging', true),
  log(-60_000, 'PowerMeterDC', 'warn', 'LemDCBM400600: OCMF read slow (1800 ms)'),
];

export const report: Report = {
  id: 'rep-0001',
  eventId: event.id,
  correlationId: 'txn-7781',
  eventType: 'SESSION_DROP',
  service: 'evse_manager_1',
  errorCode: 'MREC14PilotFault',
  stationId: 'EV-Station-01',
  createdAt: new Date(T + 900).toISOString(),
  latencyMs: 41,
  summary: 'SESSION_DROP on evse_manager_1: most likely bsp (commit 9f3c2a17 "debounce CP state changes").',
  source: 'rules',
  revision: 1,
  modelVersion: 'engine-1-abc123',
  incidentId: null,
  changesFromCache: false,
  hypotheses: [
    {
      rank: 1,
      service: 'bsp',
      file: 'modules/HardwareDrivers/EVSE/PhyVersoBSP/connector_1/evse_board_supportImpl.cpp',
      function: 'handle_cp_state_F',
      change: {
        sha: bspCommit.sha!,
        message: 'PhyVersoBSP: debounce CP state changes (20 ms)',
        author: 'jdoe',
      },
      confidence: 0.58,
      reasons: ['new error: CP state F reported while PWM on', 'changed 42 min before the failure'],
      evidence: [
        {
          kind: 'change',
          text: 'commit 9f3c2a17 42 min before',
          weight: 1.2,
          ruleId: 'change.recent',
          sha: bspCommit.sha,
        },
        {
          kind: 'log',
          text: '09:41:00 BoardSupport ERROR CP state F reported',
          weight: 0.9,
          ruleId: 'logs.errors',
        },
        {
          kind: 'rule',
          text: 'rule ev.cp-fault-bsp: pilot fault points at the BSP',
          weight: 0.8,
          ruleId: 'ev.cp-fault-bsp',
        },
        { kind: 'graph', text: 'evse_manager_1 depends on it (1 hop)', weight: 0.1 },
      ],
    },
    {
      rank: 2,
      service: 'evse_manager_1',
      confidence: 0.21,
      reasons: ['reported the SESSION_DROP'],
      evidence: [
        { kind: 'graph', text: 'reported the SESSION_DROP', weight: 0.5, ruleId: 'graph.prior' },
        {
          kind: 'log',
          text: '09:41:00 EvseManager ERROR MREC14PilotFault raised',
          weight: 0.4,
          ruleId: 'logs.errors',
        },
      ],
    },
    {
      rank: 3,
      service: 'powermeter_dc',
      confidence: 0.07,
      reasons: ['warning: OCMF read slow'],
      evidence: [{ kind: 'log', text: 'LemDCBM400600: OCMF read slow', weight: 0.3, ruleId: 'logs.errors' }],
    },
  ],
};

/** Facts over the fixtures, with the store reads done in memory the way the real queries filter. */
export function facts(over: Partial<AnswerFacts> = {}): AnswerFacts {
  const graph = exampleGraph();
  return {
    report,
    event,
    graph,
    logs: (q) =>
      logs
        .filter((l) => q.services.includes(l.service) && l.timestamp >= q.since && l.timestamp <= q.until)
        .sort((a, b) => a.timestamp - b.timestamp)
        .slice(0, q.limit),
    changes: (since, until) =>
      [bspCommit, meterConfig]
        .filter((c) => c.timestamp >= since && c.timestamp <= until)
        .sort((a, b) => a.timestamp - b.timestamp),
    ...over,
  };
}
