import { describe, expect, test } from 'bun:test';
import { type LabelledCase, runGate } from '../../src/learn/gate.ts';
import { baseModel, type LearntModel, type RankingAdjustments } from '../../src/learn/model.ts';

/** A case whose top service is bsp unless the adjustments push `flipTo` up. */
const kase = (
  id: string,
  source: LabelledCase['source'],
  expected: string,
  over: Partial<LabelledCase> = {},
  calls: string[] = [],
): LabelledCase => ({
  id,
  source,
  eventType: 'SESSION_DROP',
  errorCode: 'MREC14PilotFault',
  expected,
  top: (adj?: RankingAdjustments) => {
    calls.push(id);
    return (adj?.services?.evse_manager_1 ?? 1) > 1.5 ? 'evse_manager_1' : 'bsp';
  },
  ...over,
});

const candidate = (contexts: LearntModel['contexts']): LearntModel => ({ version: 'candidate', contexts });
const boostEvse = { 'SESSION_DROP/MREC14PilotFault': { services: { evse_manager_1: 2 } } };

describe('learning gate', () => {
  test('accepts an adjustment that raises accuracy, with before/after figures', () => {
    const r = runGate(
      [kase('s1', 'scenario', 'evse_manager_1'), kase('f1', 'feedback', 'evse_manager_1')],
      baseModel,
      candidate(boostEvse),
    );
    expect(r.accepted).toBe(true);
    expect(r.figures.scenarios).toEqual({ total: 1, before: 0, after: 1 });
    expect(r.figures.feedback).toEqual({ total: 1, before: 0, after: 1 });
    expect(r.figures.changedContexts).toEqual(['SESSION_DROP/MREC14PilotFault']);
    expect(r.figures.flips).toHaveLength(2);
  });

  test('refuses an adjustment that lowers accuracy on the built-in scenarios, even if feedback agrees', () => {
    const r = runGate(
      [
        kase('s1', 'scenario', 'bsp'),
        kase('s2', 'scenario', 'bsp'),
        kase('f1', 'feedback', 'evse_manager_1'),
        kase('f2', 'feedback', 'evse_manager_1'),
      ],
      baseModel,
      candidate(boostEvse),
    );
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/lowers accuracy on the built-in scenarios: scenarios 100.0% -> 0.0%/);
    expect(r.figures.feedback).toEqual({ total: 2, before: 0, after: 2 });
  });

  test('refuses an adjustment that lowers accuracy on the reports with feedback', () => {
    const r = runGate(
      [
        kase('f1', 'feedback', 'bsp'),
        kase('f2', 'feedback', 'bsp'),
        kase('f3', 'feedback', 'evse_manager_1'),
      ],
      baseModel,
      candidate(boostEvse),
    );
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/reports with feedback/);
  });

  test('ranks only the cases whose adjustments change; the others count as unchanged', () => {
    const calls: string[] = [];
    const other = kase(
      's-other',
      'scenario',
      'bsp',
      { eventType: 'OCPP_DISCONNECT', errorCode: 'ConnectionLost' },
      calls,
    );
    const same = kase('s-same', 'scenario', 'evse_manager_1', {}, calls);
    const r = runGate([other, same], baseModel, candidate(boostEvse));
    expect(calls.filter((c) => c === 's-other')).toHaveLength(1);
    expect(calls.filter((c) => c === 's-same')).toHaveLength(2);
    expect(r.figures.scenarios).toEqual({ total: 2, before: 1, after: 2 });
  });

  test('an error-code context applies to every event type with that code, an exact one takes precedence', () => {
    const seen: Array<RankingAdjustments | undefined> = [];
    const c = kase('s', 'scenario', 'evse_manager_1', {
      eventType: 'session.dropped',
      top: (a) => {
        seen.push(a);
        return 'bsp';
      },
    });
    runGate([c], baseModel, candidate({ '*/MREC14PilotFault': { services: { evse_manager_1: 2 } } }));
    expect(seen).toEqual([undefined, { services: { evse_manager_1: 2 } }]);
  });

  test('cases that can no longer be ranked (event gone) are left out of the figures', () => {
    const gone = kase('f-gone', 'feedback', 'bsp', { top: () => null });
    const r = runGate([gone], baseModel, candidate(boostEvse));
    expect(r.figures.feedback.total).toBe(0);
    expect(r.accepted).toBe(true);
  });
});

describe('model version tag', () => {
  test('matches what analyze() writes into report.modelVersion for the same adjustments', async () => {
    const { analyze } = await import('../../src/analyze/engine.ts');
    const { ruleSet } = await import('../../src/analyze/rules/pack.ts');
    const { emptyEvidence } = await import('../../src/analyze/evidence.ts');
    const { adjustmentsTag } = await import('../../src/learn/model.ts');
    const { event, exampleGraph, T } = await import('../ui/fixtures.ts');
    const adjustments = { services: { bsp: 1.6, evse_manager_1: 0.7 }, rules: { 'graph.prior': 0.9 } };
    const r = analyze({
      event,
      graph: exampleGraph(),
      evidence: emptyEvidence(),
      rules: ruleSet(),
      now: T,
      lookbackMs: 7 * 86_400_000,
      adjustments,
    });
    expect(r.modelVersion.endsWith(`+${adjustmentsTag(adjustments)}`)).toBe(true);
  });
});
