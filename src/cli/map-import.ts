import { writeFileSync } from 'node:fs';
import { importEverestConfig } from '../map/everest-import.ts';
import { parseSystemMap } from '../map/system-map.ts';
import { parseArgs, readInputFile } from './args.ts';

const usage = 'usage: tracepulse map import everest CONFIG.yaml [--out FILE] [--repo owner/name]\n';

/** `tracepulse map import everest CONFIG.yaml`: an EVerest config -> a checked system map. */
export async function mapImportCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ['out', 'repo'], flags: [] });
  if (!args.ok) {
    process.stderr.write(`${args.error}\n${usage}`);
    return 2;
  }
  const [kind, file] = args.positionals;
  if (kind !== 'everest' || !file || args.positionals.length !== 2) {
    process.stderr.write(usage);
    return 2;
  }
  const text = readInputFile(file, process.stderr);
  if (text === null) return 1;
  const r = importEverestConfig(text, { repo: args.values.repo, source: file });
  if (!r.ok) {
    for (const p of r.problems) process.stderr.write(`error: ${p}\n`);
    return 1;
  }
  // The result goes through the same check as any map, so what is written is loadable.
  const check = parseSystemMap(r.yaml);
  if (!check.ok) {
    for (const p of check.problems) process.stderr.write(`error: ${p.message}\n`);
    return 1;
  }
  for (const w of [...r.warnings, ...check.warnings.map((w) => w.message)])
    process.stderr.write(`warning: ${w}\n`);
  if (args.values.out) writeFileSync(args.values.out, r.yaml);
  else process.stdout.write(r.yaml);
  process.stderr.write(
    `ok: ${r.services} services, ${r.edges.length} edges${args.values.out ? ` written to ${args.values.out}` : ''}\n`,
  );
  return 0;
}
