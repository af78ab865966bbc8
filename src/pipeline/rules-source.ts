import { readFileSync, statSync } from 'node:fs';
import { ruleSet } from '../analyze/rules/pack.ts';
import { parseRules, type RuleSet } from '../analyze/rules/schema.ts';
import { type Scheduler, systemScheduler } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';

export interface RulesStatus {
  ok: boolean;
  modelVersion: string;
  rules: number;
  userFile: string | null;
  userRules: number;
  loadedAt: number | null;
  /** Problems of the last rejected user file; the last good rules stay in force. */
  lastError: { at: number; problems: string[] } | null;
}

export interface RulesSource {
  current(): RuleSet;
  status(): RulesStatus;
  stop(): void;
}

/**
 * The rules in force: the built-in EV pack plus the optional user file, re-read when the file
 * changes (polled, which survives editors that replace the file). A bad file is logged and shown in
 * /healthz; the last good rules stay.
 */
export function createRulesSource(options: {
  path?: string;
  logger: Logger;
  now: () => number;
  /** The file's poll (tests advance a manual clock). */
  scheduler?: Scheduler;
  watchIntervalMs?: number;
}): RulesSource {
  const { path, logger } = options;
  let set = ruleSet();
  let userRules = 0;
  let loadedAt: number | null = null;
  let lastError: RulesStatus['lastError'] = null;
  let lastText: string | null = null;

  const load = () => {
    if (!path) return;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const problems = [`${path}: cannot read: ${(err as Error).message}`];
      if (lastError?.problems.join() !== problems.join()) logger.error('rule file unreadable', { path });
      lastError = { at: options.now(), problems };
      return;
    }
    if (text === lastText) return;
    lastText = text;
    const parsed = parseRules(text, path);
    if (!parsed.ok) {
      lastError = { at: options.now(), problems: parsed.problems };
      logger.error('rule file rejected; keeping the last good rules', {
        path,
        problems: parsed.problems.join('; '),
      });
      return;
    }
    set = ruleSet({ rules: parsed.rules, text });
    userRules = parsed.rules.length;
    loadedAt = options.now();
    lastError = null;
    logger.info('rules loaded', { path, userRules, modelVersion: set.version });
  };

  // Polled by stat, like fs.watchFile, but on the injected scheduler; load() ignores unchanged text.
  const stamp = () => {
    try {
      const st = statSync(path as string);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  };
  let lastStamp = path ? stamp() : '';
  load();
  const poll = path
    ? (options.scheduler ?? systemScheduler).every(options.watchIntervalMs ?? 500, () => {
        const now = stamp();
        if (now === lastStamp) return;
        lastStamp = now;
        load();
      })
    : null;

  return {
    current: () => set,
    status: () => ({
      ok: lastError === null,
      modelVersion: set.version,
      rules: set.rules.length,
      userFile: path ?? null,
      userRules,
      loadedAt,
      lastError,
    }),
    stop: () => poll?.cancel(),
  };
}
