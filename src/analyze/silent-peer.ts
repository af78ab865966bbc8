import { levelRank } from '../core/log-line.ts';
import type { SystemGraph } from '../map/graph.ts';
import { commonNames, mapNameIndex, nameIndex, namesIn, tokens } from './outside.ts';
import type { EventFact, LogFact, PatternFact } from './facts.ts';
import { CLOCK_SKEW_MS } from './weights.ts';

/**
 * A service reporting that it cannot hear from its peer, in the wording station software uses:
 * EVerest's CommunicationFault error types (EVerest/everest-core@23c9dac:errors/powermeter.yaml,
 * power_supply_DC.yaml, evse_board_support.yaml), SerialCommHub's Modbus "Packet receive timeout"
 * (modules/Misc/SerialCommHub), libocpp's websocket "Connection failed" / "Connection lost", and
 * SmartEVSE's "ERROR NO SERIAL COM" and "EV Meter Comm Error" (dingo35/SmartEVSE-3.5#302, #262), a
 * websocket closed or lost (RFC 6455 §7.4.1: 1006, closed abnormally, the peer went away), and
 * the POSIX conditions ETIMEDOUT "Connection timed out", ECONNREFUSED, ECONNRESET, EHOSTUNREACH.
 */
const LOST_CONTACT = new RegExp(
  [
    String.raw`comm(unication)?s? ?(fault|error|timeout|failure)`,
    String.raw`\b(communication|connection|contact|link|websocket)\b.{0,80}?\b(lost|refused|failed|reset|closed|dropped|timed out)\b`,
    String.raw`lost (the )?(communication|connection|contact)`,
    String.raw`\bno (\w+ ){0,2}(response|reply|answer|pdu|data|heartbeat|com|comms|communication)s?\b`,
    String.raw`not (responding|answering|reachable|established)|does not (respond|answer)`,
    String.raw`timed? ?out|timeout|unreachable|(failed|unable) to connect`,
  ].join('|'),
  'i',
);

export const reportsLostContact = (message: string): boolean => LOST_CONTACT.test(message.slice(0, 512));

/** Candidates that said something in the window, at any level (a line or an event). */
export function spokeIn(logs: readonly LogFact[], events: readonly EventFact[]): Set<string> {
  const spoke = new Set<string>();
  for (const l of logs) if (l.candidate) spoke.add(l.candidate);
  for (const e of events) if (e.candidate) spoke.add(e.candidate);
  return spoke;
}

/**
 * Candidates with no voice at all: nothing in the window, not gone quiet, no warning in the
 * baseline. A relay, a GFCI coil or a meter behind a bus: what is known of them is what their
 * detectors and drivers say (rules/subject.ts, and the voiceless peers below).
 */
export function voicelessOf(input: {
  candidates: Iterable<string>;
  spoke: ReadonlySet<string>;
  wentQuiet: ReadonlySet<string>;
  /** Candidates with warnings in the baseline before the window. */
  history: ReadonlySet<string>;
}): Set<string> {
  return new Set(
    [...input.candidates].filter(
      (c) => !input.spoke.has(c) && !input.wentQuiet.has(c) && !input.history.has(c),
    ),
  );
}

/** Every service that said something in the window (a candidate or not), by the map's name. */
export function heardIn(
  graph: SystemGraph,
  logs: readonly LogFact[],
  also: Iterable<string> = [],
): Set<string> {
  const heard = new Set(also);
  for (const l of logs) heard.add(l.candidate ?? graph.resolve(l.service) ?? l.service);
  return heard;
}

/**
 * At least two services besides `user` that depend on `dep` were heard in the window without
 * complaining: `dep` is still serving them.
 */
export function servesOthers(
  graph: SystemGraph,
  dep: string,
  user: string,
  heard: ReadonlySet<string>,
  complained: (service: string) => boolean,
): boolean {
  return graph.dependents(dep).filter((u) => u !== user && heard.has(u) && !complained(u)).length >= 2;
}

/** A service that lost contact with one of its dependencies, which itself said nothing (it went quiet, or never speaks). */
export interface SilentPeer {
  /** The silent dependency. */
  peer: string;
  /** The first line (or event) in which the reporting service says it lost contact. */
  example: string;
  ts: number;
  /** The line names the peer (otherwise it is the reporter's only silent dependency). */
  named: boolean;
  /** It never logs (a device behind a driver), rather than having gone quiet. */
  voiceless: boolean;
  /** The reporter's dependency that had lost the peer first (the report passed down to it). */
  through?: string;
  /** The silent dependency the reporter lost, which depends on this peer and fell silent after its trouble began. */
  silenced?: string;
}

/**
 * For each candidate that newly reports lost contact, the dependency it lost: a device or a link
 * that stops answering logs nothing, so its silence next to its dependent's "no response" is the
 * evidence (for a dependency that logged before the window, or one that never logs at all while the
 * reporter has no change of its own). The peer is the silent dependency the report names, or else the reporter's only
 * silent dependency; with several silent dependencies and no name the report points at none.
 */
export function silentPeers(input: {
  graph: SystemGraph;
  candidates: ReadonlySet<string>;
  patterns: ReadonlyMap<string, PatternFact[]>;
  logs: readonly LogFact[];
  events: readonly EventFact[];
  /** Services that logged before the window and nothing in it (any level); one that never logs says nothing by silence. */
  wentQuiet: ReadonlySet<string>;
  /** What said something in the window, and what never speaks (spokeIn, voicelessOf). */
  spoke: ReadonlySet<string>;
  voiceless: ReadonlySet<string>;
  /** Candidates with a credible change of their own. */
  changed: ReadonlySet<string>;
  /** The trigger is the failing service's own statement. */
  trigger: { service: string; text: string; ts: number };
}): Map<string, SilentPeer> {
  const { graph, candidates, spoke } = input;
  const out = new Map<string, SilentPeer>();
  const reports = new Map<string, { example: string; firstTs: number }>();
  for (const [service, patterns] of input.patterns) {
    const lost = patterns.find(
      (p) => p.novelty !== 'chronic' && levelRank[p.level] >= levelRank.warn && p.lostContact,
    );
    if (lost) reports.set(service, lost);
  }
  const { trigger } = input;
  if (!reports.has(trigger.service) && reportsLostContact(trigger.text))
    reports.set(trigger.service, { example: trigger.text, firstTs: trigger.ts });
  const anomalies = (service: string) =>
    (input.patterns.get(service) ?? []).filter(
      (p) => p.novelty !== 'chronic' && levelRank[p.level] >= levelRank.warn,
    );
  // A dependency that other services use without complaint is still answering: a broker that is
  // down silences all its clients, not one.
  const heard = heardIn(graph, input.logs, spoke);
  const answering = (d: string, reporter: string) =>
    servesOthers(graph, d, reporter, heard, (u) => reports.has(u));
  // Another dependency that had already lost contact itself explains the reporter's loss: it is
  // that one's loss seen one hop later (passDownChains), not the silent dependency's.
  const lostFirst = (service: string, ts: number) =>
    (graph.services.get(service)?.dependsOn ?? []).some((d) =>
      anomalies(d).some((p) => (p.lostContact || !p.vague) && p.firstTs <= ts + CLOCK_SKEW_MS),
    );
  // A device behind a driver (a wallbox's Modbus server, a meter on a bus) has no voice at all: the
  // driver's "i/o timeout" is the only word about it. That reads as the device's unless the driver
  // itself just changed (then its own update is as likely: a client regression loses its server).
  for (const [service, lost] of reports) {
    const silent = (graph.services.get(service)?.dependsOn ?? []).filter(
      (d) =>
        candidates.has(d) &&
        !spoke.has(d) &&
        (input.wentQuiet.has(d) || (input.voiceless.has(d) && !input.changed.has(service))) &&
        !answering(d, service),
    );
    if (!silent.length) continue;
    const index = nameIndex(graph, silent);
    const named = [...new Set(namesIn(lost.example, index, commonNames(input.logs, index)))];
    // A report that names another service ("wallbox: timeout waiting for response") is about that
    // one, not about the reporter's only silent dependency, unless it is reached through it.
    const aboutOther = () => {
      const all = mapNameIndex(graph);
      const behind = new Set(graph.candidates(silent[0]!).map((c) => c.service));
      // Only the names the line holds are counted across the window's logs (commonNames reads them all).
      const held = new Map(
        [...tokens(lost.example).keys()].flatMap((k) => {
          const s = all.get(k);
          return s && s !== service && !behind.has(s) ? [[k, s] as const] : [];
        }),
      );
      return held.size > 0 && namesIn(lost.example, held, commonNames(input.logs, held)).length > 0;
    };
    const peer =
      named.length === 1
        ? named[0]
        : silent.length === 1 && !named.length && !aboutOther() && !lostFirst(service, lost.firstTs)
          ? silent[0]
          : undefined;
    // A peer that went silent because what it depends on broke first: the Pi's Wi-Fi logging
    // "power save enabled" just before Home Assistant lost the openeo charger on it.
    const behind = peer
      ? (graph.services.get(peer)?.dependsOn ?? []).filter(
          (d) =>
            candidates.has(d) &&
            anomalies(d).some((p) => !p.vague && p.firstTs <= lost.firstTs + CLOCK_SKEW_MS),
        )
      : [];
    if (peer && behind.length === 1)
      out.set(service, {
        peer: behind[0]!,
        example: lost.example,
        ts: lost.firstTs,
        named: false,
        voiceless: false,
        silenced: peer,
      });
    else if (peer)
      out.set(service, {
        peer,
        example: lost.example,
        ts: lost.firstTs,
        named: named.length === 1,
        voiceless: !input.wentQuiet.has(peer),
      });
  }
  const onlyLost = new Map(
    [...reports.keys()].map((r) => [r, anomalies(r).every((p) => p.lostContact)] as const),
  );
  return passDownChains(graph, reports, onlyLost, out);
}

/**
 * A lost contact that a dependency of the reporter had already reported is the same loss seen one
 * hop later: SmartEVSE's "NO SERIAL COM" after its Modbus master's "E0 - Timeout", which lost the
 * silent RS485 bridge behind it. An engineer follows the timeouts down to the silent end, so the
 * report goes to that end (`through` the dependency), unless it names its own silent peer.
 */
function passDownChains(
  graph: SystemGraph,
  reports: ReadonlyMap<string, { example: string; firstTs: number }>,
  /** Reporters whose new anomalies all say they lost contact (no trouble of their own). */
  onlyLost: ReadonlyMap<string, boolean>,
  direct: ReadonlyMap<string, SilentPeer>,
): Map<string, SilentPeer> {
  const out = new Map(direct);
  for (const [service, lost] of reports) {
    if (direct.get(service)?.named) continue;
    const seen = new Set([service]);
    let hop = service;
    let end: SilentPeer | undefined;
    // Bounded by the map: each hop is a dependency not visited yet.
    for (;;) {
      const next = (graph.services.get(hop)?.dependsOn ?? []).find((d) => {
        const r = reports.get(d);
        return (
          !seen.has(d) &&
          r !== undefined &&
          onlyLost.get(d) === true &&
          r.firstTs <= lost.firstTs + CLOCK_SKEW_MS
        );
      });
      if (!next) break;
      seen.add(next);
      hop = next;
      end = direct.get(next);
      if (end) break;
    }
    // A peer the reporter uses directly as well is not what the chain adds: had the reporter lost
    // it, it would have said so itself (every EVerest module uses the broker).
    if (end && hop !== service && !(graph.services.get(service)?.dependsOn ?? []).includes(end.peer))
      out.set(service, { ...end, example: lost.example, ts: lost.firstTs, named: false, through: hop });
  }
  return out;
}
