import { load, YAMLException } from 'js-yaml';
import { z } from 'zod';
import { changeKinds } from '../../core/change.ts';
import { logLevels } from '../../core/log-line.ts';
import { fingerprint } from '../text.ts';

/** Ids of the built-in structural signals; YAML rules may not reuse them. */
export const structuralIds = [
  'graph.prior',
  'logs.errors',
  'logs.onset',
  'logs.mention',
  'event.origin',
  'change.recent',
  'change.version',
  'change.immediate',
] as const;

const regex = z
  .string()
  .min(1)
  .max(2000)
  .superRefine((s, ctx) => {
    try {
      new RegExp(s, 'i');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
    }
  });

const logCondition = z
  .object({
    /** Whose log: the candidate being scored (target), the failing service, or anyone in the evidence. */
    from: z.enum(['target', 'failing', 'any']).default('target'),
    /** Minimum level. */
    level: z.enum(logLevels).default('warn'),
    text: regex.optional(),
  })
  .strict();

const changeCondition = z
  .object({
    kind: z
      .union([z.enum(changeKinds), z.array(z.enum(changeKinds)).min(1)])
      .transform((k) => (Array.isArray(k) ? k : [k]))
      .optional(),
    /** Summary (commit message). */
    text: regex.optional(),
    /** Any added or removed line of the diff. */
    diff: regex.optional(),
    added: regex.optional(),
    /** Matches more often in removed lines than in added ones (a removal, not an edit). */
    removed: regex.optional(),
    /** Hunk headers (the function context after @@ ... @@). */
    hunk: regex.optional(),
    files: regex.optional(),
    /** The change touches a function the map lists for the changed service. */
    touchesFunction: z.boolean().optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, dot, dash, underscore')
      .max(100)
      .refine((id) => !(structuralIds as readonly string[]).includes(id), 'reserved for a built-in signal'),
    description: z.string().max(2000).optional(),
    enabled: z.boolean().default(true),
    when: z
      .object({
        eventType: regex.optional(),
        errorCode: regex.optional(),
        /** The whole trigger: type, error code, message and details. */
        trigger: regex.optional(),
        /** The trigger's message and details. */
        eventText: regex.optional(),
        /** The trigger (type, code, message) or any warn+ log of a candidate. */
        symptom: regex.optional(),
        log: logCondition.optional(),
        change: changeCondition.optional(),
      })
      .strict()
      .default({}),
    target: z
      .object({
        relation: z.enum(['failing', 'dependency', 'logged', 'changed', 'any']).default('any'),
        /** Regex over the candidate's name, aliases, module, description and files. */
        match: regex.optional(),
      })
      .strict()
      .default({ relation: 'any' }),
    weight: z.number().min(-3).max(3),
    reason: z.string().min(1).max(500),
  })
  .strict();

const fileSchema = z
  .object({
    version: z.literal(1).default(1),
    rules: z.array(ruleSchema).default([]),
  })
  .strict();

export type RuleSpec = z.output<typeof ruleSchema>;

/** A validated rule with its regular expressions compiled (case-insensitive). */
export interface Rule {
  id: string;
  origin: string;
  weight: number;
  reason: string;
  spec: RuleSpec;
  re: {
    eventType?: RegExp;
    errorCode?: RegExp;
    trigger?: RegExp;
    eventText?: RegExp;
    symptom?: RegExp;
    logText?: RegExp;
    changeText?: RegExp;
    diff?: RegExp;
    added?: RegExp;
    removed?: RegExp;
    hunk?: RegExp;
    files?: RegExp;
    target?: RegExp;
  };
}

/** A rule set in force, with the fingerprint that names the model version. */
export interface RuleSet {
  rules: Rule[];
  version: string;
}

export type RulesResult = { ok: true; rules: Rule[]; text: string } | { ok: false; problems: string[] };

const re = (s: string | undefined) => (s === undefined ? undefined : new RegExp(s, 'i'));

/** A validated rule spec made ready to run: its regular expressions compiled. */
export function compileRule(spec: RuleSpec, origin: string): Rule {
  return {
    id: spec.id,
    origin,
    weight: spec.weight,
    reason: spec.reason,
    spec,
    re: {
      eventType: re(spec.when.eventType),
      errorCode: re(spec.when.errorCode),
      trigger: re(spec.when.trigger),
      eventText: re(spec.when.eventText),
      symptom: re(spec.when.symptom),
      logText: re(spec.when.log?.text),
      changeText: re(spec.when.change?.text),
      diff: re(spec.when.change?.diff),
      added: re(spec.when.change?.added),
      removed: re(spec.when.change?.removed),
      hunk: re(spec.when.change?.hunk),
      files: re(spec.when.change?.files),
      target: re(spec.target.match),
    },
  };
}

/** Parses and validates a rule file; every problem is listed, naming the rule id and field. */
export function parseRules(text: string, origin: string): RulesResult {
  let raw: unknown;
  try {
    raw = load(text);
  } catch (err) {
    if (err instanceof YAMLException)
      return {
        ok: false,
        problems: [`${origin}: YAML syntax error at line ${(err.mark?.line ?? 0) + 1}: ${err.reason}`],
      };
    throw err;
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const rawRules = (raw as { rules?: unknown } | null)?.rules;
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const [top, index, ...rest] = issue.path;
        if (top === 'rules' && typeof index === 'number') {
          const id = Array.isArray(rawRules) ? (rawRules[index] as { id?: unknown } | null)?.id : undefined;
          const who = typeof id === 'string' ? `rule '${id}' (rules[${index}])` : `rules[${index}]`;
          return `${origin}: ${who} ${rest.map(String).join('.') || '(rule)'}: ${issue.message}`;
        }
        return `${origin}: ${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`;
      }),
    };
  }
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const r of parsed.data.rules) {
    if (seen.has(r.id)) problems.push(`${origin}: rule '${r.id}' id: duplicate id`);
    seen.add(r.id);
  }
  if (problems.length) return { ok: false, problems };
  const rules = parsed.data.rules.map((spec) => compileRule(spec, origin));
  return { ok: true, rules, text };
}

/**
 * The rules in force: the built-in pack, then the user's rules. A user rule with a built-in's id
 * replaces it (`enabled: false` switches a built-in off).
 */
export function mergeRules(builtIn: Rule[], user: Rule[], texts: string[]): RuleSet {
  const byId = new Map<string, Rule>();
  for (const r of [...builtIn, ...user]) byId.set(r.id, r);
  return {
    rules: [...byId.values()].filter((r) => r.spec.enabled),
    version: `rules-${fingerprint(texts.join('\n---\n'))}`,
  };
}
