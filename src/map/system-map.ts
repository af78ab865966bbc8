import { load, YAMLException } from 'js-yaml';
import { z } from 'zod';
import { buildGraph, type SystemGraph } from './graph.ts';

const nameList = z.array(z.string().trim().min(1));

const serviceSchema = z
  .object({
    depends_on: nameList.default([]),
    file: z.string().min(1).optional(),
    files: nameList.optional(),
    functions: nameList.optional(),
    repo: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')
      .optional(),
    owners: nameList.optional(),
    /** Slack channel for this service's reports (deliver/). */
    channel: z.string().min(1).optional(),
    /** Other names firmware uses for this service in events and logs. */
    aliases: nameList.optional(),
    description: z.string().optional(),
    module: z.string().optional(),
  })
  .strict();

const mapSchema = z
  .object({
    repo: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, 'expected owner/name')
      .optional(),
    triggers: nameList.default([]),
    services: z.record(
      z.string().trim().min(1),
      z.preprocess((v) => v ?? {}, serviceSchema),
    ),
  })
  .strict();

export type SystemMapSpec = z.output<typeof mapSchema>;

export interface MapProblem {
  severity: 'error' | 'warning';
  message: string;
  service?: string;
  line?: number;
}

export type MapResult =
  | { ok: true; graph: SystemGraph; warnings: MapProblem[] }
  | { ok: false; problems: MapProblem[] };

/** Parses and validates a system map; every problem is reported at once, each with its service and line. */
export function parseSystemMap(yamlText: string): MapResult {
  let raw: unknown;
  try {
    raw = load(yamlText);
  } catch (err) {
    if (err instanceof YAMLException) {
      const line = (err.mark?.line ?? 0) + 1;
      const dup = /duplicated mapping key/.test(err.reason);
      const key = dup ? keyAtLine(yamlText, line) : undefined;
      return {
        ok: false,
        problems: [
          {
            severity: 'error',
            line,
            service: key,
            message: dup
              ? `duplicate service or key '${key ?? '?'}' at line ${line}`
              : `YAML syntax error at line ${line}: ${err.reason}`,
          },
        ],
      };
    }
    throw err;
  }
  // Parsed at start and on edits only: jitless spares zod compiling a fast path (~5 ms of start-up).
  const parsed = mapSchema.safeParse(raw ?? {}, { jitless: true });
  if (!parsed.success) {
    // With the schema's problems, the dependency and trigger problems it could not reach: one round.
    const schemaProblems = parsed.error.issues.map((issue) => {
      const [top, service] = issue.path;
      const svc = top === 'services' && typeof service === 'string' ? service : undefined;
      const line = svc ? serviceLine(yamlText, svc) : undefined;
      const where = issue.path.map(String).join('.');
      return {
        severity: 'error' as const,
        service: svc,
        line,
        message: `${where || '(root)'}: ${issue.message}${line ? ` (line ${line})` : ''}`,
      };
    });
    return { ok: false, problems: [...schemaProblems, ...referenceProblems(raw, yamlText)] };
  }
  const problems = referenceProblems(parsed.data, yamlText);
  if (problems.length) return { ok: false, problems };
  const graph = buildGraph(parsed.data);
  const warnings: MapProblem[] = graph.cycles.map((cycle) => ({
    severity: 'warning',
    service: cycle[0],
    line: cycle[0] ? serviceLine(yamlText, cycle[0]) : undefined,
    message: `dependency cycle: ${cycle.join(' -> ')}`,
  }));
  return { ok: true, graph, warnings };
}

/** Unknown dependencies and malformed triggers, read from whatever parts of the map have the right shape. */
function referenceProblems(raw: unknown, yamlText: string): MapProblem[] {
  const problems: MapProblem[] = [];
  const map = isRecord(raw) ? raw : {};
  const services = isRecord(map.services) ? map.services : {};
  const names = new Set(Object.keys(services));
  for (const [svc, s] of Object.entries(services)) {
    const deps = isRecord(s) && Array.isArray(s.depends_on) ? s.depends_on : [];
    for (const dep of deps) {
      if (typeof dep !== 'string' || names.has(dep.trim())) continue;
      const line = serviceLine(yamlText, svc);
      problems.push({
        severity: 'error',
        service: svc,
        line,
        message: `service '${svc}' depends on unknown service '${dep}'${line ? ` (line ${line})` : ''}`,
      });
    }
  }
  const triggers = Array.isArray(map.triggers) ? map.triggers : [];
  for (const t of triggers)
    if (typeof t === 'string' && !/^[A-Z0-9_.:-]+$/i.test(t.trim()))
      problems.push({ severity: 'error', message: `trigger '${t}' is not an event type` });
  return problems;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function serviceLine(text: string, service: string): number | undefined {
  const lines = text.split('\n');
  const esc = service.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\s+["']?${esc}["']?\\s*:`);
  const start = lines.findIndex((l) => /^services\s*:/.test(l));
  for (let i = Math.max(0, start); i < lines.length; i++) if (re.test(lines[i] ?? '')) return i + 1;
  return undefined;
}

function keyAtLine(text: string, line: number): string | undefined {
  const m = /^\s*["']?([^"':]+)["']?\s*:/.exec(text.split('\n')[line - 1] ?? '');
  return m?.[1]?.trim();
}
