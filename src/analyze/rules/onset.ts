import { clockTime, span } from '../text.ts';
import type { RuleFamily } from './finding.ts';
import type { ChangeFact } from '../changes.ts';
import { changeLabel } from './change-recency.ts';
import { disturbedBy, editedOwnCode, relaysFor, startedBy } from './log-errors.ts';
import { CLOCK_SKEW_MS, ONSET_WEIGHT } from '../weights.ts';

/**
 * logs.onset: the earliest anomaly on the failure's trail (trail.ts), i.e. where the visible
 * propagation through the dependencies began. Sources stamp lines with their own clocks, so every
 * service whose first anomaly is within CLOCK_SKEW_MS of the earliest may have been first, the
 * failing service included, and each gets it. Without a trail, only a dependency's change that came
 * just before the failing service's first new warning or error gets it. A service whose first anomaly only
 * reports lost contact does not get it: a client notices first when its server stops answering.
 */
export const onset: RuleFamily = {
  id: 'logs.onset',
  run(facts) {
    const { trail, onset: first, failing, T } = facts;
    let starts: string[];
    let at: number;
    if (trail.parent.size) {
      at = Math.min(...[...trail.parent.keys()].map((s) => first.get(s)!));
      const own = first.get(failing) ?? T;
      starts = [...trail.parent.keys(), ...(own < T ? [failing] : [])]
        .filter((s) => first.get(s)! <= at + CLOCK_SKEW_MS)
        .sort();
    } else {
      at = first.get(failing) ?? T;
      const others = [...first].filter(([s]) => s !== failing).map(([, t]) => t);
      if (at >= T || !others.length || Math.min(...others) <= at) return [];
      starts = [failing];
    }
    // A first anomaly that only reports losing a peer ("charger enable: timeout") is the peer's
    // silence noticed, not a sign the reporter failed first, unless a change edited its own code.
    const onlyLostContact = (service: string) => {
      const ts = first.get(service);
      const said = (facts.patterns.get(service) ?? []).filter((p) => p.firstTs === ts);
      return said.length > 0 && said.every((p) => p.lostContact) && !editedOwnCode(facts, service);
    };
    starts = starts.filter((s) => !onlyLostContact(s) && !relaysFor(facts, s));
    // A trail that starts in a dependency whose trouble began with the failing service's own change
    // (rules/log-errors.ts disturbedBy) starts with that change: the failing service was first.
    const disturbed = new Map(
      starts.flatMap((s) => {
        const cf = disturbedBy(facts, s);
        return cf ? [[s, cf] as const] : [];
      }),
    );
    const changedFirst = [...disturbed.values()][0] ?? null;
    const started = !changedFirst && starts.includes(failing) ? startedBy(facts) : null;
    // Without a trail there is no propagation to date. The failing service logging before the other
    // candidates is what a silent root (a library, a cloud, a device it talks to) looks like too: on
    // the 157 development triggers it did so for 2 of the 29 where it was the root and 14 of the 128
    // where it was not (docs/accuracy.md). Only a dependency's change just before it dates the start.
    if (!trail.parent.size && !started) return [];
    if (started) starts = [...new Set([...starts.filter((s) => s !== failing), started.service])].sort();
    if (changedFirst) starts = [...new Set([...starts.filter((s) => !disturbed.has(s)), failing])].sort();
    const byAnomaly = starts.filter((s) => s !== started?.service && !(changedFirst && s === failing));
    const tied =
      byAnomaly.length > 1
        ? `; ${byAnomaly.join(', ')} began within ${CLOCK_SKEW_MS / 1000} s of each other, closer than the clocks can order`
        : '';
    // Where the trail starts with a change rather than an anomaly.
    const begins = new Map<string, { change: ChangeFact; before: number }>();
    if (changedFirst) begins.set(failing, { change: changedFirst, before: at });
    if (started) begins.set(started.service, { change: started.change, before: first.get(failing)! });
    return starts.map((service) => {
      const begun = begins.get(service);
      const ts = begun ? begun.change.change.timestamp : (first.get(service) ?? at);
      const reason = begun
        ? `failed first: its ${changeLabel(begun.change.change)} at ${clockTime(ts)} came before the first anomaly on the failure's trail (${clockTime(begun.before)})${tied}`
        : `failed first: its first new warning or error came at ${clockTime(ts)}, ${span(T - ts)} before the ${facts.event.eventType}${
            service === failing ? ', before any dependency' : `, and the anomalies lead from it to ${failing}`
          }${tied}`;
      return {
        ruleId: 'logs.onset',
        service,
        weight: ONSET_WEIGHT,
        reason,
        evidence: [{ kind: 'graph', text: reason, weight: ONSET_WEIGHT, timestamp: ts }],
      };
    });
  },
};
