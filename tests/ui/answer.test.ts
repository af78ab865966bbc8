import { describe, expect, test } from 'bun:test';
import { answerLocally } from '../../src/ui/answer/answer-question.ts';
import { parseQuestion } from '../../src/ui/answer/intent.ts';
import { bspCommit, exampleGraph, facts, report } from './fixtures.ts';

describe('question parsing', () => {
  const g = exampleGraph();
  test('finds services by map name and by the alias firmware uses', () => {
    expect(parseQuestion('what changed in bsp?', g)).toMatchObject({ intent: 'changes', services: ['bsp'] });
    expect(parseQuestion('show the logs of BoardSupport', g)).toMatchObject({
      intent: 'logs',
      services: ['bsp'],
    });
    expect(parseQuestion('why is bsp above evse_manager_1?', g).services).toEqual(['bsp', 'evse_manager_1']);
  });
  test('tells "what depends on X" from "what does X depend on"', () => {
    expect(parseQuestion('what depends on comm_hub?', g)).toMatchObject({
      intent: 'deps',
      direction: 'dependents',
    });
    expect(parseQuestion('what does imd depend on?', g)).toMatchObject({
      intent: 'deps',
      direction: 'dependencies',
    });
    expect(parseQuestion('path from evse_manager_1 to comm_hub', g)).toMatchObject({ direction: 'path' });
  });
  test('reads a look-back from the question', () => {
    expect(parseQuestion('what changed in bsp in the last 2 hours', g).lookbackMs).toBe(2 * 3_600_000);
  });
});

describe('local answers (offline)', () => {
  test('what changed in a service: its changes before the event, the blamed one marked, cited', () => {
    const a = answerLocally('What changed in bsp?', facts());
    expect(a.intent).toBe('changes');
    expect(a.answeredBy).toBe('local');
    expect(a.text).toContain('9f3c2a17d4');
    expect(a.text).toContain('blamed by this report');
    expect(a.text).toContain('42 min before the event');
    expect(a.citations).toEqual([expect.objectContaining({ kind: 'change', ref: bspCommit.id })]);
  });

  test('what changed, for a service with no change, says so and names what did change', () => {
    const a = answerLocally('any deploys on imd?', facts());
    expect(a.text).toMatch(/No recorded change touched imd/);
    expect(a.text).toContain('bsp');
  });

  test('the look-back limits the changes', () => {
    const a = answerLocally('what changed in powermeter_dc in the last 1 hour', facts());
    expect(a.text).toMatch(/No recorded change touched powermeter_dc/);
    const b = answerLocally('what changed in powermeter_dc in the last 4 hours', facts());
    expect(b.text).toContain('cfg-2026-11-25-meter');
  });

  test('logs of a service around the event: found under its alias, errors first, cited', () => {
    const a = answerLocally('show logs of bsp', facts());
    expect(a.intent).toBe('logs');
    expect(a.text).toMatch(/3 line\(s\) from bsp/);
    expect(a.text).toContain('CP state F reported while PWM on');
    expect(a.text).toContain('(-3s)');
    expect(a.citations.length).toBe(3);
    expect(a.citations.every((c) => c.kind === 'log')).toBe(true);
  });

  test('logs default to the failing service', () => {
    const a = answerLocally('what did it log?', facts());
    expect(a.text).toContain('from evse_manager_1');
    expect(a.text).toContain('MREC14PilotFault raised');
  });

  test('why one candidate ranks above another: the signals only it had, with evidence', () => {
    const a = answerLocally('why is bsp ranked above evse_manager_1?', facts());
    expect(a.intent).toBe('why');
    expect(a.text).toMatch(/^bsp \(#1, 58%/);
    expect(a.text).toContain('Only bsp had:');
    expect(a.text).toContain('change.recent');
    expect(a.text).toContain('ev.cp-fault-bsp');
    expect(a.text).toContain('Both had:');
    expect(a.text).toContain('Only evse_manager_1 had:');
    expect(a.text).toContain('graph.prior');
    expect(a.citations.some((c) => c.kind === 'change')).toBe(true);
    expect(a.citations.some((c) => c.kind === 'rule')).toBe(true);
  });

  test('why not a service that is not a candidate: the map has no path to it', () => {
    const a = answerLocally('why not blame rfid?', facts());
    expect(a.text).toMatch(/rfid was not a candidate: the map has no depends_on path from evse_manager_1/);
  });

  test('why, with one service named, compares it with the top', () => {
    const a = answerLocally('why is powermeter_dc ranked so low?', facts());
    expect(a.text).toMatch(/^bsp .* ranks above powermeter_dc/);
  });

  test('what depends on a service, and what it depends on, from the map', () => {
    const d = answerLocally('what depends on comm_hub?', facts());
    expect(d.text).toMatch(/depend on comm_hub directly: imd, powermeter_ac/);
    expect(d.text).toContain('evse_manager_1');
    expect(d.citations[0]).toMatchObject({ kind: 'graph', ref: 'service:comm_hub' });
    const u = answerLocally('what does imd depend on?', facts());
    expect(u.text).toMatch(/^imd depends on comm_hub, mqtt_broker/);
  });

  test('the path between two services', () => {
    const a = answerLocally('how is evse_manager_1 connected to comm_hub? path', facts());
    expect(a.text).toMatch(/^evse_manager_1 -> imd -> comm_hub/);
  });

  test('anything else gets the report summary and what can be asked', () => {
    const a = answerLocally('hello?', facts());
    expect(a.intent).toBe('summary');
    expect(a.text).toContain(report.summary);
    expect(a.text).toContain('You can ask');
    expect(a.citations.length).toBeGreaterThan(0);
  });

  test('no event in the store any more: times fall back to the report', () => {
    const a = answerLocally('logs of bsp', facts({ event: null }));
    expect(a.text).toContain('from bsp');
  });
});
