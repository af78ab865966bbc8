import type { Database } from 'bun:sqlite';
import type { AnalyzeInput } from '../../../src/analyze/engine.ts';
import { ruleSet } from '../../../src/analyze/rules/pack.ts';
import type { Change } from '../../../src/core/change.ts';
import type { DebugEvent } from '../../../src/core/event.ts';
import { logLevels } from '../../../src/core/log-line.ts';
import type { Scenario } from './types.ts';
import { parseSystemMap } from '../../../src/map/system-map.ts';
import { createEvidenceGatherer } from '../../../src/pipeline/gather.ts';
import { openDatabase } from '../../../src/store/db.ts';
import { createLogPatterns } from '../../../src/store/log-patterns.ts';
import type { ReplayInput } from './learn-replay.ts';

/** Scenarios sit this far apart in time, beyond the change look-back plus the log baseline. */
const SPACING_MS = 40 * 86_400_000;
const BASE = Date.UTC(2026, 0, 1);

/**
 * Generated scenarios as analysis inputs (for the learning tests and scripts/bench-feedback.ts): their logs and events go into an
 * in-memory store and are read back by the pipeline's own evidence gatherer, so a replay sees what
 * the service would have seen.
 */
export function scenarioInputs(
  scenarios: Scenario[],
  options: { lookbackMs?: number; db?: Database } = {},
): ReplayInput[] {
  return [...buildInputs(scenarios, options)];
}

function* buildInputs(
  scenarios: Scenario[],
  options: { lookbackMs?: number; db?: Database },
): Generator<ReplayInput> {
  const lookbackMs = options.lookbackMs ?? 7 * 86_400_000;
  const db = options.db ?? openDatabase(':memory:');
  const patterns = createLogPatterns(db);
  const gatherer = createEvidenceGatherer(db, { patterns });
  const rules = ruleSet();
  const insertEvent = db.prepare(
    `INSERT INTO events (id, event_type, service, error_code, correlation_id, details, priority, ts, received_at, message, source)
     VALUES (?, ?, ?, ?, ?, ?, 'high', ?, ?, ?, 'replay')`,
  );
  const insertLog = db.prepare(
    `INSERT INTO logs (ts, service, level, message, correlation_id, attributes, source) VALUES (?, ?, ?, ?, ?, NULL, 'replay')`,
  );
  try {
    for (const [i, sc] of scenarios.entries()) {
      const parsed = parseSystemMap(sc.mapYaml);
      if (!parsed.ok) continue; // the generator's maps are valid; a broken one is skipped, not fatal
      const graph = parsed.graph;
      const T = BASE + i * SPACING_MS;
      const event: DebugEvent = {
        id: `scenario-${sc.id}`,
        eventType: sc.event.eventType,
        service: sc.event.service,
        errorCode: sc.event.errorCode,
        correlationId: sc.event.correlationId,
        details: sc.event.details,
        priority: 'high',
        timestamp: T,
        receivedAt: T,
        message: sc.event.message ?? null,
        source: 'replay',
      };
      db.transaction(() => {
        insertEvent.run(
          event.id,
          event.eventType,
          event.service,
          event.errorCode,
          event.correlationId,
          JSON.stringify(event.details),
          T,
          T,
          event.message,
        );
        for (const l of sc.logs)
          insertLog.run(T + l.at, l.service, logLevels.indexOf(l.level), l.message, l.correlationId ?? null);
      })();
      // The pipeline folds new log lines into the pattern baseline before each analysis; so does the replay.
      while (patterns.indexPending(20_000) > 0);
      const changes: Change[] = sc.changes
        .map((c) => ({
          id: c.id,
          sha: c.sha ?? null,
          service: c.service,
          kind: c.kind,
          timestamp: T + c.at,
          summary: c.summary,
          files: c.files ?? [],
          diff: c.diff ?? null,
          author: c.author ?? null,
          url: c.url ?? null,
          repo: null,
        }))
        // What the change source would hand the pipeline: the look-back up to the event.
        .filter((c) => c.timestamp >= T - lookbackMs && c.timestamp <= T)
        .sort((a, b) => a.timestamp - b.timestamp);
      const candidates = graph.failureCandidates(event.service);
      const knownNames = [...new Set([event.service, ...sc.logs.map((l) => l.service)])];
      const evidence = gatherer.gather({ event, graph, candidates, knownNames, changes, lookbackMs });
      const input: AnalyzeInput = { event, graph, evidence, rules, now: T + 1000, lookbackMs };
      yield { id: sc.id, expected: sc.label.rootService, input };
    }
  } finally {
    if (!options.db) db.close();
  }
}
