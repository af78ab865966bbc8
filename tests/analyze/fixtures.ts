import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../src/analyze/engine.ts';
import {
  type Adjustments,
  type EvidenceBundle,
  type EvidenceEvent,
  type EvidenceLog,
  emptyEvidence,
  type PatternHistory,
} from '../../src/analyze/evidence.ts';
import type { TriggerEvent } from '../../src/analyze/facts.ts';
import { ruleSet } from '../../src/analyze/rules/pack.ts';
import type { RuleSet } from '../../src/analyze/rules/schema.ts';
import type { Change } from '../../src/core/change.ts';
import type { LogLevel } from '../../src/core/log-line.ts';
import type { SystemGraph } from '../../src/map/graph.ts';
import { parseSystemMap } from '../../src/map/system-map.ts';

/** 2026-11-25 09:41:30 UTC: the moment of the failure in every fixture. */
export const T = Date.UTC(2026, 10, 25, 9, 41, 30);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const mapYaml = readFileSync(join(import.meta.dir, '../../system-map.yaml'), 'utf8');

export function graphOf(yaml: string): SystemGraph {
  const r = parseSystemMap(yaml);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.graph;
}

/** The example DC+AC EVerest station. */
export const station = graphOf(mapYaml);

export function trigger(over: Partial<TriggerEvent> = {}): TriggerEvent {
  return {
    id: 'evt-1',
    eventType: 'SESSION_DROP',
    service: 'SessionManager',
    errorCode: 'TIMEOUT',
    correlationId: 'sess-7f3a',
    details: { connector: '1' },
    timestamp: T,
    message: null,
    ...over,
  };
}

/** A log line `secondsBefore` the failure. */
export function log(
  service: string,
  level: LogLevel,
  message: string,
  secondsBefore: number,
  correlated = false,
): EvidenceLog {
  return { ts: T - secondsBefore * 1000, service, level, message, correlated };
}

export function event(over: Partial<EvidenceEvent> & { secondsBefore: number }): EvidenceEvent {
  const { secondsBefore, ...rest } = over;
  return {
    id: `evt-${secondsBefore}`,
    eventType: 'METER_FAULT',
    service: 'powermeter_dc',
    errorCode: 'CommunicationFault',
    message: null,
    correlated: false,
    ...rest,
    ts: T - secondsBefore * 1000,
  };
}

export function change(over: Partial<Change> & { id: string; agoMs: number }): Change {
  const { agoMs, ...rest } = over;
  return {
    sha: null,
    service: null,
    kind: 'commit',
    summary: 'refactor',
    files: [],
    diff: null,
    author: 'dev@example.com',
    url: null,
    repo: 'EVerest/everest-core',
    ...rest,
    timestamp: T - agoMs,
  };
}

/** Chronic history: `count` occurrences of a pattern in the baseline day before the window. */
export function chronic(service: string, pattern: string, count = 500): PatternHistory {
  return { service, pattern, count, firstTs: T - DAY, sampled: false };
}

export function run(
  input: {
    event?: TriggerEvent;
    graph?: SystemGraph;
    rules?: RuleSet;
    lookbackMs?: number;
    adjustments?: Adjustments;
  } & Partial<EvidenceBundle> = {},
) {
  const { event: ev, graph, rules, lookbackMs, adjustments, ...evidence } = input;
  return analyze({
    event: ev ?? trigger(),
    graph: graph ?? station,
    evidence: { ...emptyEvidence(), ...evidence },
    rules: rules ?? ruleSet(),
    now: T + 50,
    lookbackMs: lookbackMs ?? 7 * DAY,
    adjustments,
  });
}

export const ranking = (r: ReturnType<typeof run>) => r.hypotheses.map((h) => h.service);

/**
 * A TWCManager on a Raspberry Pi talking RS485 to a Gen2 wall connector (TWCManager#453): the
 * failing service logs `message` twice (10 and 5 min before) and had a config change of its own,
 * or of `changedService`, `changedAgoMs` before.
 */
export const twcSite = graphOf(`
services:
  twcmanager:
    depends_on: [rs485_link]
  rs485_link:
    description: RS485 pair from the Pi to the Gen2 wall connector
`);

export function twcFailure(
  message: string,
  summary: string,
  { changedAgoMs = 60 * MIN, changedService = 'twcmanager' } = {},
) {
  return run({
    graph: twcSite,
    event: trigger({
      service: 'twcmanager',
      eventType: 'CHARGER_LOST',
      errorCode: 'NoHeartbeat',
      correlationId: null,
    }),
    windowMs: 30 * MIN,
    logs: [log('twcmanager', 'error', message, 600), log('twcmanager', 'error', message, 300)],
    changes: [
      change({ id: 'twc-cfg', service: changedService, kind: 'config', summary, agoMs: changedAgoMs }),
    ],
  });
}
