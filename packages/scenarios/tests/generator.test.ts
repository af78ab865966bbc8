import { describe, expect, test } from 'bun:test';
import { catalogue } from '../src/catalogue.ts';
import { generateScenarios } from '../src/generator.ts';
import { scenarioRecords } from '../src/to-stream.ts';
import { faultClasses, type Scenario } from '../src/types.ts';
import type { SystemGraph } from '../../../src/map/graph.ts';
import { parseSystemMap } from '../../../src/map/system-map.ts';
import { formatStream, parseStream } from '../../../src/replay/stream.ts';

const day = 86_400_000;
const windowMs = 5 * 60_000;
const lookback = 7 * day;
const scenarios = generateScenarios({ seed: 1, count: 300 });

const graphOf = (s: Scenario): SystemGraph => {
  const r = parseSystemMap(s.mapYaml);
  if (!r.ok) throw new Error(`${s.id}: invalid map: ${r.problems.map((p) => p.message).join('; ')}`);
  return r.graph;
};
const graphs = new Map(scenarios.map((s) => [s.id, graphOf(s)]));
const candidatesOf = (s: Scenario) =>
  new Set((graphs.get(s.id) as SystemGraph).candidates(s.label.failingService).map((c) => c.service));
const resolve = (s: Scenario, name: string) => (graphs.get(s.id) as SystemGraph).resolve(name);
const testsOrDocs = (f: string) => /(^|\/)(tests?|docs?)\//.test(f) || /\.(md|rst)$/.test(f);

describe('scenario generator', () => {
  test('is deterministic per seed, and seeds differ', () => {
    expect(generateScenarios({ seed: 1, count: 300 })).toEqual(scenarios);
    const other = generateScenarios({ seed: 2, count: 20 });
    expect(other.map((s) => s.mapYaml)).not.toEqual(scenarios.slice(0, 20).map((s) => s.mapYaml));
  });

  test('the first N scenarios do not depend on the count', () => {
    expect(generateScenarios({ seed: 1, count: 25 })).toEqual(scenarios.slice(0, 25));
  });

  test('yields at least 300 scenarios with every fault class well represented', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(300);
    for (const cls of faultClasses)
      expect(scenarios.filter((s) => s.label.faultClass === cls).length).toBeGreaterThanOrEqual(50);
    expect(new Set(scenarios.map((s) => s.template)).size).toBeGreaterThanOrEqual(25);
  });

  test('station maps vary: kinds, sizes, naming styles, optional services, cycles', () => {
    expect(new Set(scenarios.map((s) => s.stationKind))).toEqual(new Set(['dc', 'ac', 'dual']));
    for (const s of scenarios) {
      expect(s.serviceCount).toBeGreaterThanOrEqual(10);
      expect(s.serviceCount).toBeLessThanOrEqual(40);
    }
    const sizes = new Set(scenarios.map((s) => s.serviceCount));
    expect(sizes.size).toBeGreaterThanOrEqual(15);
    expect(new Set(scenarios.map((s) => s.mapYaml)).size).toBe(scenarios.length);
    const names = scenarios.flatMap((s) => [...(graphs.get(s.id) as SystemGraph).services.keys()]);
    expect(names.some((n) => /^[a-z]+(_[a-z0-9]+)+$/.test(n))).toBe(true); // evse_manager_1
    expect(names.some((n) => /^[A-Z][a-z]+[A-Z]\w*$/.test(n))).toBe(true); // EvseManager1
    expect(names.some((n) => /^[a-z]+(-[a-z0-9]+)+$/.test(n))).toBe(true); // session-manager
    const cyclic = scenarios.filter((s) => (graphs.get(s.id) as SystemGraph).cycles.length > 0).length;
    expect(cyclic).toBeGreaterThan(5);
    expect(cyclic).toBeLessThan(scenarios.length / 3);
    const withCsms = scenarios.filter((s) => /\n {2}(csms|Csms|csms-backend):/.test(s.mapYaml)).length;
    expect(withCsms).toBeGreaterThan(30);
    expect(withCsms).toBeLessThan(scenarios.length);
  });

  test('labels are consistent with the map', () => {
    for (const s of scenarios) {
      const g = graphs.get(s.id) as SystemGraph;
      expect(g.services.has(s.label.rootService)).toBe(true);
      expect(resolve(s, s.event.service)).toBe(s.label.failingService);
      expect(candidatesOf(s).has(s.label.rootService)).toBe(true);
      expect(g.triggers.has(s.event.eventType)).toBe(true);
      if (s.label.faultClass === 'self-regression') expect(s.label.rootService).toBe(s.label.failingService);
      const culprits = s.changes.filter((c) => c.tag === 'culprit');
      if (s.label.faultClass === 'runtime') {
        expect(s.label.changeId).toBeNull();
        expect(culprits).toHaveLength(0);
      } else {
        expect(culprits).toHaveLength(1);
        const c = culprits[0] as (typeof culprits)[number];
        expect(c.id).toBe(s.label.changeId as string);
        expect(c.service).toBe(s.label.rootService);
        expect(c.at).toBeLessThan(0);
        expect(c.at).toBeGreaterThan(-lookback);
        if (s.label.faultClass === 'config-firmware') expect(['config', 'firmware']).toContain(c.kind);
        else expect(['commit', 'deploy']).toContain(c.kind);
      }
    }
  });

  test('change ids are unique across the whole set', () => {
    const ids = scenarios.flatMap((s) => s.changes.map((c) => c.id));
    expect(new Set(ids).size).toBe(ids.length);
    const cids = scenarios.map((s) => s.event.correlationId);
    expect(new Set(cids).size).toBe(cids.length);
  });

  test('commits carry unified diffs whose hunk headers name the function', () => {
    for (const s of scenarios) {
      for (const c of s.changes.filter((x) => x.kind === 'commit' && x.tag !== 'tests-docs')) {
        expect(c.sha).toMatch(/^[0-9a-f]{40}$/);
        expect(c.diff).toMatch(/^diff --git a\/\S+ b\/\S+$/m);
        expect(c.diff).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@ .*\w+\(/m);
        for (const f of c.files ?? []) expect(c.diff).toContain(`+++ b/${f}`);
      }
    }
  });

  test('every scenario carries every kind of distractor', () => {
    for (const s of scenarios) {
      const cands = candidatesOf(s);
      const inCands = (name: string) => {
        const r = resolve(s, name);
        return r !== null && cands.has(r);
      };
      const root = s.label.rootService;
      const inWindow = (at: number) => at >= -windowMs && at <= 0;
      const why = (kind: string) => `${s.id} (${s.template}) lacks ${kind}`;

      expect(
        s.changes.some((c) => !inCands(c.service) && c.at < 0 && c.at > -lookback),
        why('outside'),
      ).toBe(true);
      expect(
        s.changes.some((c) => c.at < -lookback),
        why('old change'),
      ).toBe(true);
      expect(
        s.changes.some((c) => c.at > 0),
        why('change after the event'),
      ).toBe(true);
      expect(
        s.changes.some(
          (c) =>
            inCands(c.service) &&
            c.at < 0 &&
            c.at > -lookback &&
            (c.files ?? []).length > 0 &&
            (c.files ?? []).every(testsOrDocs),
        ),
        why('tests/docs-only change'),
      ).toBe(true);
      expect(
        s.logs.some((l) => l.level === 'warn' && inWindow(l.at) && !inCands(l.service)),
        why('noisy warnings'),
      ).toBe(true);
      expect(
        s.logs.some((l) => l.correlationId && l.correlationId !== s.event.correlationId),
        why('other sessions'),
      ).toBe(true);
      const firstChain = Math.min(
        ...s.logs.filter((l) => ['root', 'path', 'failing'].includes(l.tag)).map((l) => l.at),
      );
      expect(
        s.logs.some(
          (l) =>
            l.tag === 'symptom' && l.level === 'error' && l.at > firstChain && resolve(s, l.service) !== root,
        ),
        why('dependent symptom errors after the root'),
      ).toBe(true);
      const chronic = new Map<string, number[]>();
      for (const l of s.logs)
        if (l.level === 'warn' && resolve(s, l.service) !== root)
          chronic.set(`${l.service}\u0000${l.message}`, [
            ...(chronic.get(`${l.service}\u0000${l.message}`) ?? []),
            l.at,
          ]);
      expect(
        [...chronic.values()].some(
          (ts) => ts.length >= 3 && Math.min(...ts) < -2 * 3_600_000 && ts.some(inWindow),
        ),
        why('chronic warnings present for hours'),
      ).toBe(true);
      expect(
        s.logs.some(
          (l) => l.tag === 'vague' && l.level === 'error' && inWindow(l.at) && resolve(s, l.service) !== root,
        ),
        why('vague errors'),
      ).toBe(true);
    }
  });

  test('evidence is sometimes incomplete', () => {
    const share = (trait: string) =>
      scenarios.filter((s) => s.traits.includes(trait)).length / scenarios.length;
    expect(share('root-warn-only')).toBeGreaterThan(0.1);
    expect(share('root-silent')).toBeGreaterThan(0.02);
    expect(share('failing-generic')).toBeGreaterThan(0.15);
    expect(share('event-alias')).toBeGreaterThan(0.15);
  });

  test('every scenario is a valid replay stream for the service', () => {
    for (const s of scenarios.slice(0, 60)) {
      const text = formatStream(scenarioRecords(s, Date.UTC(2025, 0, 1)));
      const parsed = parseStream(text);
      expect(parsed.ok ? [] : parsed.problems).toEqual([]);
      // Nothing of the labels leaks into what the service receives, except the label record itself.
      const wire = text.split('\n').filter((l) => l && !l.includes('"type":"label"'));
      for (const line of wire) {
        expect(line).not.toContain('"tag"');
        expect(line).not.toContain('"rootService"');
      }
    }
  });
});

describe('module catalogue', () => {
  test('every regression edit changes code, not only a comment', () => {
    const strip = (l: string) => l.replace(/\/\/.*$/, '').replace(/\s+/g, '');
    for (const mods of Object.values(catalogue))
      for (const m of mods)
        for (const f of m.functions)
          for (const e of f.regressions)
            expect(e.to.map(strip).join(''), `${m.type} ${f.name}: ${e.message}`).not.toBe(
              strip(f.body[e.line] ?? ''),
            );
  });
});
