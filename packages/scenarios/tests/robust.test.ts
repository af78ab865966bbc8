import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evalCommand } from '../../../src/cli/eval.ts';
import { parseSystemMap } from '../../../src/map/system-map.ts';
import { parseStream } from '../../../src/replay/stream.ts';
import { scenariosCommand } from '../src/cli.ts';
import { generateScenarios } from '../src/generator.ts';
import { scenarioStreams } from '../src/harness.ts';
import { vaguePhrases } from '../src/logs.ts';
import { otherDecoyPhrases, robustScenarios } from '../src/robust.ts';

const plain = generateScenarios({ seed: 3, count: 150 });
const robust = robustScenarios(plain, 3);

const buffer = () => {
  let text = '';
  return { write: (t: string) => (text += t), text: () => text };
};

describe('robustness run', () => {
  test("replaces every decoy with other wording than the generator's own", () => {
    expect(otherDecoyPhrases.some((p) => (vaguePhrases as readonly string[]).includes(p))).toBe(false);
    let decoys = 0;
    for (const [i, s] of robust.entries()) {
      const before = plain[i]!;
      for (const [j, l] of s.logs.entries()) {
        if (l.tag !== 'vague') {
          expect(l.message).toBe(before.logs[j]!.message);
          continue;
        }
        decoys++;
        expect(otherDecoyPhrases as readonly string[]).toContain(l.message);
      }
      for (const l of s.logs) expect(vaguePhrases as readonly string[]).not.toContain(l.message);
    }
    expect(decoys).toBeGreaterThan(150);
  });

  test("skews each service's clock by at most 2 s, the same for all its lines, relative to the failing service", () => {
    let skewed = 0;
    for (const [i, s] of robust.entries()) {
      const byService = new Map<string, number>();
      for (const [j, l] of s.logs.entries()) {
        const d = l.at - plain[i]!.logs[j]!.at;
        expect(Math.abs(d)).toBeLessThanOrEqual(4000); // two skews of at most 2 s each
        const seen = byService.get(l.service);
        if (seen !== undefined) expect(d).toBe(seen);
        byService.set(l.service, d);
        if (d !== 0) skewed++;
      }
      // The failing service's own lines keep their times (its clock is the reference).
      const failing = s.logs.filter((l) => l.service === s.event.service);
      for (const l of failing) expect(byService.get(l.service)).toBe(0);
    }
    expect(skewed).toBeGreaterThan(1000);
  });

  test('about a third of the maps lose one edge on the path from the root to the failing service; labels stay', () => {
    const cut = robust.filter((s) => s.traits.includes('robust:edge-removed'));
    expect(cut.length / robust.length).toBeGreaterThan(0.25);
    expect(cut.length / robust.length).toBeLessThan(0.42);
    for (const s of cut) {
      const before = plain.find((p) => p.id === s.id)!;
      const was = parseSystemMap(before.mapYaml);
      const now = parseSystemMap(s.mapYaml);
      if (!was.ok || !now.ok) throw new Error(`${s.id}: invalid map`);
      const path = was.graph
        .candidates(s.label.failingService)
        .find((c) => c.service === s.label.rootService)!.path;
      const edges = (g: typeof now.graph) =>
        new Set([...g.services.values()].flatMap((x) => x.dependsOn.map((d) => `${x.name}>${d}`)));
      const lost = [...edges(was.graph)].filter((e) => !edges(now.graph).has(e));
      expect(lost).toHaveLength(1);
      const [from, to] = lost[0]!.split('>');
      expect(path.indexOf(to!) - path.indexOf(from!)).toBe(1);
      expect(s.label).toEqual(before.label);
      expect(s.title).toContain(`map lacks ${from} -> ${to}`);
    }
    for (const s of robust.filter((x) => !x.traits.includes('robust:edge-removed')))
      expect(s.mapYaml).toBe(plain.find((p) => p.id === s.id)!.mapYaml);
  });

  test('with silent roots, the root of every runtime fault logs nothing; everything else stays', () => {
    const silent = robustScenarios(plain, 3, { silentRoots: true });
    const resolve = (s: (typeof plain)[number]) => {
      const r = parseSystemMap(s.mapYaml);
      if (!r.ok) throw new Error(`${s.id}: invalid map`);
      return (name: string) => r.graph.resolve(name) ?? name;
    };
    let silenced = 0;
    for (const [i, s] of silent.entries()) {
      const before = robust[i]!;
      const name = resolve(plain[i]!);
      const quiet = s.label.faultClass === 'runtime' && s.label.rootService !== s.label.failingService;
      expect(s.traits.includes('robust:silent-root')).toBe(quiet);
      expect(s.label).toEqual(before.label);
      expect(s.mapYaml).toBe(before.mapYaml);
      expect(s.logs).toEqual(
        quiet ? before.logs.filter((l) => name(l.service) !== s.label.rootService) : before.logs,
      );
      if (quiet && before.logs.some((l) => name(l.service) === s.label.rootService)) silenced++;
    }
    expect(silenced).toBeGreaterThan(20);
  });

  test('is deterministic per seed', () => {
    expect(robustScenarios(generateScenarios({ seed: 3, count: 20 }), 3)).toEqual(robust.slice(0, 20));
  });
});

describe('the generator as a dev script, scored by the product', () => {
  test('writes labelled replay streams, one per batch, that `tracepulse eval DIR` scores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tracepulse-scenarios-'));
    try {
      const err = buffer();
      const code = await scenariosCommand(
        ['--seed', '1', '--count', '12', '--batch', '5', '--robust', '--out', dir],
        buffer(),
        err,
      );
      expect(code).toBe(0);
      const files = readdirSync(dir).sort();
      expect(files).toEqual([
        'seed1-robust-0001-0005.ndjson',
        'seed1-robust-0006-0010.ndjson',
        'seed1-robust-0011-0012.ndjson',
      ]);
      for (const f of files) {
        const parsed = parseStream(readFileSync(join(dir, f), 'utf8'));
        if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
      }
      const out = buffer();
      expect(await evalCommand([dir, '--json'], out, buffer())).toBe(0);
      const result = JSON.parse(out.text()) as {
        files: number;
        summary: { overall: { n: number; reported: number } };
      };
      expect(result.files).toBe(3);
      expect(result.summary.overall.n).toBe(12);
      expect(result.summary.overall.reported).toBe(12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('streams of a batch lay scenarios out one after another, each labelled', () => {
    const [stream] = scenarioStreams({ seed: 1, count: 4, now: Date.UTC(2026, 11, 1) });
    const labels = stream!.records.filter((r) => r.type === 'label');
    const maps = stream!.records.filter((r) => r.type === 'map');
    expect(labels).toHaveLength(4);
    expect(maps).toHaveLength(4);
    const events = stream!.records
      .filter((r) => r.type === 'event')
      .map((r) => {
        const ts = (r as { body: Record<string, unknown> }).body.timestamp as string | number;
        return typeof ts === 'number' ? ts : Date.parse(ts);
      });
    for (let i = 1; i < events.length; i++)
      expect(events[i]! - events[i - 1]!).toBeGreaterThan(9 * 86_400_000);
    expect(Math.max(...events)).toBeLessThan(Date.UTC(2026, 11, 1));
  });
});
