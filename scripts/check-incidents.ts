// Checks benchmark recordings without running the engine: every line parses, every map is valid,
// every label names a trigger event in the file, and every label cites a public source.
// Usage: npx bun scripts/check-incidents.ts FILE_OR_DIR...
import { readFileSync } from 'node:fs';
import { caseFiles } from '../src/cli/eval.ts';
import { parseSystemMap } from '../src/map/system-map.ts';
import { parseStream } from '../src/replay/stream.ts';

let bad = 0;
let checked = 0;
for (const file of caseFiles(process.argv.slice(2))) {
  checked++;
  const problems: string[] = [];
  const parsed = parseStream(readFileSync(file, 'utf8'));
  if (!parsed.ok) problems.push(...parsed.problems);
  else {
    const eventIds = new Set<string>();
    let triggers = new Set<string>();
    for (const r of parsed.records) {
      if (r.type === 'map') {
        const map = parseSystemMap(r.yaml);
        if (!map.ok) problems.push(...map.problems.map((p) => `line ${r.line}: map: ${p.message}`));
        else triggers = new Set(map.graph.triggers);
      }
      if (r.type === 'event') {
        const cid = (r.body.correlationId ??
          (r.body.event as Record<string, unknown> | undefined)?.correlationId) as string | undefined;
        // Only a trigger gets a report: priority high, or no priority and a type the map triggers on.
        const priority = r.body.priority ?? (triggers.has(String(r.body.eventType)) ? 'high' : 'low');
        if (cid && priority === 'high') eventIds.add(cid);
      }
    }
    const labels = parsed.records.filter((r) => r.type === 'label');
    if (labels.length === 0) problems.push('no label');
    for (const r of labels) {
      if (r.type !== 'label') continue;
      if (!r.label.source) problems.push(`line ${r.line}: label has no source`);
      if (!r.label.faultClass) problems.push(`line ${r.line}: label has no faultClass`);
      if (!eventIds.has(r.label.correlationId))
        problems.push(
          `line ${r.line}: no trigger event (priority high) with correlationId ${r.label.correlationId}`,
        );
    }
  }
  if (problems.length) {
    bad++;
    process.stdout.write(`${file}\n  ${problems.join('\n  ')}\n`);
  }
}
process.stdout.write(`${checked} file(s) checked, ${bad} with problems\n`);
process.exit(bad ? 1 : 0);
