import { readFileSync } from 'node:fs';

/** Parses `--name value`, `--name=value` and boolean `--flag` options; the rest are positionals. */
export function parseArgs(
  argv: string[],
  spec: { values: string[]; flags: string[] },
):
  | { ok: true; values: Record<string, string>; flags: Set<string>; positionals: string[] }
  | { ok: false; error: string } {
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (spec.flags.includes(name)) {
      if (eq !== -1) return { ok: false, error: `--${name} takes no value` };
      flags.add(name);
    } else if (spec.values.includes(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') return { ok: false, error: `--${name} needs a value` };
      values[name] = value;
    } else return { ok: false, error: `unknown option --${name}` };
  }
  return { ok: true, values, flags, positionals };
}

/** A non-negative integer option, or an error message naming it. */
export function intOption(values: Record<string, string>, name: string, fallback: number): number | string {
  const raw = values[name];
  if (raw === undefined) return fallback;
  return /^\d+$/.test(raw) ? Number(raw) : `--${name} must be a non-negative integer, got '${raw}'`;
}

/** Where a command writes its text (process.stdout/stderr, or a buffer in tests). */
export interface TextOut {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Reads a command's input file; on failure says so on `err` and returns null (exit code 1). */
export function readInputFile(file: string, err: TextOut): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    err.write(`cannot read ${file}: ${(e as Error).message}\n`);
    return null;
  }
}
