import { clockTime, versionsIn } from '../text.ts';
import { changeLabel } from './change-recency.ts';
import type { Finding, RuleFamily } from './finding.ts';
import { VERSION_QUOTED } from '../weights.ts';

/**
 * The version a change installed: what follows its arrow ("OpenEVSE WiFi firmware 4.1.4 -> 4.1.5"),
 * or every version it names when it has none.
 */
export function installedVersions(summary: string): string[] {
  const line = summary.split('\n')[0]!;
  const arrow = line.search(/->|→|\bto\b/);
  return versionsIn(arrow >= 0 ? line.slice(arrow) : line);
}

/** The versions a trigger states in its message and details ("after the V4.1.5 update", wifiFirmware: 4.1.5). */
export const statedVersions = (e: { message: string | null; details: Record<string, string> }): Set<string> =>
  new Set(versionsIn([e.message ?? '', ...Object.values(e.details)].join(' ')));

/**
 * change.version: the trigger states the version a change just installed ("after the V4.1.5
 * update", details wifiFirmware: 4.1.5): the failing station runs that change's code, so the change
 * is on the failure, not merely near it in time.
 */
export const changeVersion: RuleFamily = {
  id: 'change.version',
  run(facts) {
    const e = facts.event;
    const said = statedVersions(e);
    if (!said.size) return [];
    const out: Finding[] = [];
    for (const cf of facts.changes) {
      if (cf.docsOnly) continue;
      const v = installedVersions(cf.change.summary).find((x) => said.has(x));
      if (!v) continue;
      const reason = `the ${e.eventType} states version ${v}, which ${changeLabel(cf.change)} installed at ${clockTime(cf.change.timestamp)}`;
      for (const service of cf.services)
        out.push({
          ruleId: 'change.version',
          service,
          weight: VERSION_QUOTED * cf.credibility,
          reason,
          changeId: cf.change.id,
          evidence: [
            { kind: 'change', text: reason, weight: VERSION_QUOTED * cf.credibility, changeId: cf.change.id },
          ],
        });
    }
    return out;
  },
};
