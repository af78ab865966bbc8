import { describe, expect, test } from 'bun:test';
import { type LabelledReport, runGate } from '../../src/learn/gate.ts';
import { baseModel, type LearntModel, type Adjustments } from '../../src/learn/model.ts';

/** A labelled report whose top service is bsp unless the adjustments push evse_manager_1 up. */
const report = (
  id: string,
  expected: string,
  over: Partial<LabelledReport> = {},
  calls: string[] = [],
): LabelledReport => ({
  id,
  eventType: 'SESSION_DROP',
  errorCode: 'MREC14PilotFault',
  expected,
  top: (adj?: Adjustments) => {
    calls.push(id);
    return (adj?.services?.evse_manager_1 ?? 1) > 1.5 ? 'evse_manager_1' : 'bsp';
  },
  ...over,
});

const model = (contexts: LearntModel['contexts']): LearntModel => ({ version: 'candidate', contexts });
const boostEvse = { 'SESSION_DROP/MREC14PilotFault': { services: { evse_manager_1: 2 } } };

describe("learning gate (the station's labelled reports, leave-one-out)", () => {
  test('accepts an adjustment that raises held-out accuracy, with before/after figures', () => {
    const r = runGate(
      [report('f1', 'evse_manager_1'), report('f2', 'evse_manager_1')],
      baseModel,
      model(boostEvse),
      () => model(boostEvse),
    );
    expect(r.accepted).toBe(true);
    expect(r.figures.reports).toEqual({ total: 2, before: 0, after: 2 });
    expect(r.figures.changedContexts).toEqual(['SESSION_DROP/MREC14PilotFault']);
    expect(r.figures.flips).toHaveLength(2);
    expect(r.reason).toMatch(/leave-one-out\) 0.0% -> 100.0% \(n=2\)/);
  });

  test('judges each report under the candidate learnt without it, not under the candidate that saw it', () => {
    // Under the full candidate every report is right (it was fitted to them); learnt without a report,
    // the candidate gets the bsp reports wrong: feedback that only fits itself is refused.
    const reports = [report('f1', 'bsp'), report('f2', 'bsp'), report('f3', 'evse_manager_1')];
    const fitted: LabelledReport[] = reports.map((x) => ({
      ...x,
      top: (adj) => (adj?.services?.fitted ? x.expected : x.top(adj)),
    }));
    const full = model({ 'SESSION_DROP/MREC14PilotFault': { services: { fitted: 2 } } });
    expect(runGate(fitted, baseModel, full, () => full).accepted).toBe(true);
    const r = runGate(fitted, baseModel, full, (held) => (held.expected === 'bsp' ? model(boostEvse) : full));
    expect(r.accepted).toBe(false);
    expect(r.reason).toMatch(/^lowers accuracy on the station's labelled reports/);
    expect(r.figures.reports).toEqual({ total: 3, before: 2, after: 1 });
  });

  test('the held-out model of each report is asked for that report', () => {
    const asked: string[] = [];
    runGate([report('f1', 'bsp'), report('f2', 'bsp')], baseModel, model(boostEvse), (held) => {
      asked.push(held.id);
      return baseModel;
    });
    expect(asked).toEqual(['f1', 'f2']);
  });

  test('ranks only the reports whose adjustments change; the others are not judged', () => {
    const calls: string[] = [];
    const other = report(
      'f-other',
      'bsp',
      { eventType: 'OCPP_DISCONNECT', errorCode: 'ConnectionLost' },
      calls,
    );
    const same = report('f-same', 'evse_manager_1', {}, calls);
    const r = runGate([other, same], baseModel, model(boostEvse), () => model(boostEvse));
    expect(calls.filter((c) => c === 'f-other')).toHaveLength(0);
    expect(calls.filter((c) => c === 'f-same')).toHaveLength(2);
    expect(r.figures.reports).toEqual({ total: 1, before: 0, after: 1 });
  });

  test('an error-code context applies to every event type with that code, an exact one takes precedence', () => {
    const seen: Array<Adjustments | undefined> = [];
    const codeOnly = model({ '*/MREC14PilotFault': { services: { evse_manager_1: 2 } } });
    const c = report('f', 'evse_manager_1', {
      eventType: 'session.dropped',
      top: (a) => {
        seen.push(a);
        return 'bsp';
      },
    });
    runGate([c], baseModel, codeOnly, () => codeOnly);
    expect(seen).toEqual([undefined, { services: { evse_manager_1: 2 } }]);
    const exact = model({
      ...codeOnly.contexts,
      'session.dropped/MREC14PilotFault': { services: { bsp: 0.5 } },
    });
    seen.length = 0;
    runGate([c], baseModel, exact, () => exact);
    expect(seen).toEqual([undefined, { services: { bsp: 0.5 } }]);
  });

  test('reports that can no longer be ranked (event gone) are left out of the figures', () => {
    const gone = report('f-gone', 'bsp', { top: () => null });
    const r = runGate([gone], baseModel, model(boostEvse), () => model(boostEvse));
    expect(r.figures.reports.total).toBe(0);
    expect(r.accepted).toBe(true);
  });
});

describe('model version tag', () => {
  test('matches what analyze() writes into report.modelVersion for the same adjustments', async () => {
    const { analyze } = await import('../../src/analyze/engine.ts');
    const { ruleSet } = await import('../../src/analyze/rules/pack.ts');
    const { emptyEvidence } = await import('../../src/analyze/evidence.ts');
    const { adjustmentsTag, modelVersionOf } = await import('../../src/core/learnt-model.ts');
    const { event, exampleGraph, T } = await import('../ui/fixtures.ts');
    const version = (adjustments: Record<string, Record<string, number>>) =>
      analyze({
        event,
        graph: exampleGraph(),
        evidence: emptyEvidence(),
        rules: ruleSet(),
        now: T,
        lookbackMs: 7 * 86_400_000,
        adjustments,
      }).modelVersion;
    const adjustments = { services: { bsp: 1.6, evse_manager_1: 0.7 }, rules: { 'graph.prior': 0.9 } };
    // The one fingerprint (core/learnt-model.ts) is the one the engine writes, key order aside.
    expect(version(adjustments)).toBe(modelVersionOf(ruleSet().version, adjustments));
    expect(version({ rules: { 'graph.prior': 0.9 }, services: { evse_manager_1: 0.7, bsp: 1.6 } })).toBe(
      `${ruleSet().version}+${adjustmentsTag(adjustments)}`,
    );
    expect(version({ rules: {}, services: {} })).toBe(ruleSet().version);
  });
});
