import { clip } from '../core/clip.ts';
import { levelRank } from '../core/log-line.ts';
import { reportsReply } from './replies.ts';
import { reportsLostContact } from './silent-peer.ts';
import type { SystemGraph } from '../map/graph.ts';
import { changeBase } from './changes.ts';
import { installedVersions, statedVersions } from './rules/change-version.ts';
import { impliedCandidates } from './implied.ts';
import type { EvidenceBundle, EvidenceLog, RecentDiagnosis } from './evidence.ts';
import { nameKey, versionsIn } from './text.ts';
import { CASCADE_MS, HALF_LIFE_MS } from './weights.ts';

/**
 * Real maps miss edges. A service outside the failing service's declared closure is still a
 * candidate when the evidence itself points at it: the trigger or the failing service's own
 * warnings name it, it logged a warning on the failing session, or an earlier trigger minutes ago
 * was diagnosed on it and this failure's evidence reaches that incident (a cascade).
 */
export interface OutsideCandidate {
  service: string;
  /** Why it is considered, for the report. */
  why: string;
  /** The edge that would have put it in the closure: `service` depends_on `dependsOn`. */
  suggest: { service: string; dependsOn: string };
  /** Reached through another outside candidate on the map's own edges, not joined directly. */
  viaPath: boolean;
  /** False for a name the map does not know at all (the suggestion then needs a new service). */
  mapped: boolean;
  /** Considered because an earlier diagnosis is linked (a cascade may run against the map's edges). */
  cascade?: boolean;
  /** Considered because a module's manifest requires what it provides, not because evidence names it. */
  implied?: boolean;
  /** Considered only because it logged a warning on the failing session. */
  session?: boolean;
  /** Considered because a domain rule names it (it may depend on the failing service: a CSMS reports what its station sent). */
  ruled?: boolean;
  /**
   * EVerest's manager reports that this module exited and that it terminated all modules: every
   * module went down with it, whichever way the map's edges run.
   */
  terminatedAll?: boolean;
  /** The trigger reports refusing its request and names it: the failure is about it, even when it depends on the failing service (a CSMS refusing one station). */
  subject?: boolean;
  /**
   * The trigger names it and it changed shortly before: even when it depends on the failing
   * service, what it sends is its firmware's (a wallbox updated to 1.8.32, then its OCPP server
   * registering none of its entities).
   */
  changed?: boolean;
}

/** Everything that depends on `service`, transitively. */
function dependentsOf(graph: SystemGraph, service: string): Set<string> {
  const out = new Set<string>();
  const queue = [service];
  for (let i = 0; i < queue.length; i++)
    for (const d of graph.dependents(queue[i]!))
      if (!out.has(d) && d !== service) {
        out.add(d);
        queue.push(d);
      }
  return out;
}

export interface LinkedDiagnosis extends RecentDiagnosis {
  /** The map's name of the earlier root, or its own name. */
  root: string;
  why: string;
}

const MODULE_EXITED = /\bModule (\S+) \(pid: \d+\) exited with status\b/;

/** A name said by this many different services in the window is an ordinary word at this station. */
const COMMON_NAME_SPEAKERS = 3;
const MIN_NAME_KEY = 3;

/** Every service of the map by name and alias (nameIndex), built once per map: maps are immutable. */
export function mapNameIndex(graph: SystemGraph): ReadonlyMap<string, string> {
  let index = mapIndexes.get(graph);
  if (!index) {
    index = nameIndex(graph, graph.services.keys());
    mapIndexes.set(graph, index);
  }
  return index;
}
const mapIndexes = new WeakMap<SystemGraph, Map<string, string>>();

/** commonNames of a window's lines against the whole map's names, once per window. */
export function mapCommonNames(logs: readonly EvidenceLog[], graph: SystemGraph): ReadonlySet<string> {
  let common = windowCommon.get(logs);
  if (!common) {
    common = commonNames(logs, mapNameIndex(graph));
    windowCommon.set(logs, common);
  }
  return common;
}
const windowCommon = new WeakMap<readonly EvidenceLog[], Set<string>>();

/** The given services by their names and the map's aliases (keys of at least 3 characters), first one wins. */
export function nameIndex(graph: SystemGraph, services: Iterable<string>): Map<string, string> {
  const index = new Map<string, string>();
  for (const service of services)
    for (const n of [service, ...(graph.services.get(service)?.aliases ?? [])]) {
      const k = nameKey(n);
      if (k.length >= MIN_NAME_KEY && !index.has(k)) index.set(k, service);
    }
  return index;
}

/**
 * Names this station's services all say in passing ("system", "manager", "display" in ordinary
 * sentences): said by COMMON_NAME_SPEAKERS or more different services in the window. The station's
 * own logs decide which names are ordinary words, not a list.
 */
export function commonNames(logs: readonly EvidenceLog[], index: ReadonlyMap<string, string>): Set<string> {
  const speakers = new Map<string, Set<string>>();
  for (const l of logs)
    for (const t of tokens(l.message).keys()) {
      if (!index.has(t)) continue;
      const set = speakers.get(t) ?? new Set();
      set.add(nameKey(l.service));
      speakers.set(t, set);
    }
  return new Set([...speakers].filter(([, set]) => set.size >= COMMON_NAME_SPEAKERS).map(([k]) => k));
}

/** An identifier-like token (CSMS, powermeter_dc, EvseManagerDC, MREC14) names a thing wherever it is said. */
const identifier = (t: string) => /^[A-Z0-9]{3,}$|[_0-9]|[a-z][A-Z]/.test(t);

/** Name keys of a text's tokens (and adjacent pairs: "Power Meter" names powermeter), each with whether it was written as an identifier. */
export function tokens(message: string): Map<string, boolean> {
  const text = message.slice(0, 512);
  const hit = tokenCache.get(text);
  if (hit) return hit;
  const out = new Map<string, boolean>();
  const raw = text.match(/[A-Za-z0-9_-]+/g) ?? [];
  const put = (k: string, id: boolean) => out.set(k, (out.get(k) ?? false) || id);
  for (let i = 0; i < raw.length; i++) {
    put(nameKey(raw[i]!), identifier(raw[i]!));
    if (i + 1 < raw.length) put(nameKey(raw[i]! + raw[i + 1]!), false);
  }
  // A dotted name (a Python module, a Java package, a host) is one identifier however many parts:
  // "from 'ocpp.v201.enums'" names the package whose alias that is.
  for (const dotted of text.match(/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g) ?? []) put(nameKey(dotted), true);
  // Log messages repeat (that is what patterns are): each is tokenised once per process, boundedly.
  if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
  tokenCache.set(text, out);
  return out;
}

const TOKEN_CACHE_MAX = 5_000;
const tokenCache = new Map<string, Map<string, boolean>>();

/** No name is an ordinary word: for namesIn when the text is checked for a few named services only. */
export const NO_COMMON_NAMES: ReadonlySet<string> = new Set();

/** The services a text names: by a name said as an identifier, or by one that is not an ordinary word here. */
export function namesIn(
  text: string,
  index: ReadonlyMap<string, string>,
  common: ReadonlySet<string>,
): string[] {
  return [...tokens(text)].flatMap(([t, id]) =>
    index.has(t) && (id || !common.has(t)) ? [index.get(t)!] : [],
  );
}

export function lookOutside(input: {
  event: {
    service: string;
    eventType: string;
    errorCode: string;
    correlationId: string | null;
    message: string | null;
    details: Record<string, string>;
    timestamp: number;
    id: string;
  };
  graph: SystemGraph;
  evidence: EvidenceBundle;
  failing: string;
  closure: ReadonlySet<string>;
  windowStart: number;
  pointedAt?: ReadonlyMap<string, string>;
}): { outside: Map<string, OutsideCandidate>; linked: LinkedDiagnosis[] } {
  const { event, graph, evidence, failing, closure } = input;
  const outside = new Map<string, OutsideCandidate>();
  // What the map says depends on the failing service consumes its failure (an HMI showing the
  // aborted session): the map's own edges say which way the failure runs, so those are not causes.
  const downstream = dependentsOf(graph, failing);
  const consider = (c: OutsideCandidate) => {
    if (c.service === failing || closure.has(c.service) || outside.has(c.service)) return;
    if (downstream.has(c.service) && !c.cascade && !c.ruled && !c.subject && !c.changed && !c.terminatedAll)
      return;
    outside.set(c.service, c);
  };
  const common = mapCommonNames(evidence.logs, graph);
  const index = new Map(mapNameIndex(graph));
  const namedIn = (text: string) => namesIn(text, index, common);
  const T = event.timestamp;
  const inWindow = (ts: number) => ts >= input.windowStart && ts <= T;
  // A service the map does not know, seen on the failing session, can be named like a mapped one.
  for (const l of evidence.logs)
    if (l.correlated && inWindow(l.ts) && !graph.resolve(l.service)) {
      const k = nameKey(l.service);
      if (k.length >= MIN_NAME_KEY && !index.has(k)) index.set(k, l.service);
    }

  // The trigger's own words speak for the failing service. When they report refusing a request
  // (a CSMS rejecting a station's handshake), what they name is what the failure is about, even a
  // service that depends on the failing one.
  const refusal = reportsReply(event.message ?? '');
  const triggerNames = namedIn([event.message ?? '', ...Object.values(event.details)].join(' '));
  // So do they when the failing service's own lines say that what they name stopped answering it
  // (a CSMS "timeout waiting for BootNotification" from the charger it names): a server waits on
  // its clients too, whichever way the map's edge runs. Only a dependent needs the flag, so the
  // window is read only when the trigger names one.
  const unanswered = new Set<string>();
  if (!refusal && triggerNames.some((s) => downstream.has(s)))
    for (const l of evidence.logs)
      if (
        inWindow(l.ts) &&
        levelRank[l.level] >= levelRank.warn &&
        (graph.resolve(l.service) ?? l.service) === failing &&
        reportsLostContact(l.message)
      )
        for (const s of namedIn(l.message)) unanswered.add(s);
  // The version a change installed, quoted by the trigger's message ("firmware 1.8.32 detected");
  // not its details, where a reporter states its own version (evccVersion: 0.84).
  const quoted = new Set(versionsIn(event.message ?? ''));
  const changedTo = (s: string) =>
    quoted.size > 0 &&
    evidence.changes.some(
      (c) =>
        c.service !== null &&
        (graph.resolve(c.service) ?? c.service) === s &&
        c.timestamp <= T &&
        versionsIn(c.summary).some((v) => quoted.has(v)),
    );
  for (const s of triggerNames)
    consider({
      service: s,
      why: `the ${failing} event names it`,
      ...(downstream.has(s) && changedTo(s) ? { changed: true } : {}),
      suggest: { service: failing, dependsOn: s },
      viaPath: false,
      mapped: true,
      ...(refusal || unanswered.has(s) ? { subject: true } : {}),
    });
  // Names said by the failing service and its candidates first (their edges put what they name
  // behind them on the trail), then by services considered because they spoke on the failing
  // session (the manager: "Module iso15118_d20_1 exited with status 134").
  const namesSaidBy = (speaks: (speaker: string) => boolean) => {
    for (const l of evidence.logs) {
      if (!inWindow(l.ts) || levelRank[l.level] < levelRank.warn) continue;
      const speaker = graph.resolve(l.service) ?? l.service;
      if (!speaks(speaker)) continue;
      for (const s of namedIn(l.message))
        if (s !== speaker)
          consider({
            service: s,
            why: `${l.service} names it: "${clip(l.message, 120)}"`,
            suggest: { service: speaker, dependsOn: s },
            viaPath: false,
            mapped: graph.services.has(s),
          });
    }
  };
  namesSaidBy((speaker) => speaker === failing || closure.has(speaker));
  for (const l of evidence.logs) {
    if (!inWindow(l.ts) || !l.correlated || levelRank[l.level] < levelRank.warn) continue;
    const speaker = graph.resolve(l.service) ?? l.service;
    consider({
      service: speaker,
      why: `it logged a ${l.level} on the failing session (${event.correlationId})`,
      suggest: { service: failing, dependsOn: speaker },
      viaPath: false,
      mapped: graph.services.has(speaker),
      session: true,
    });
  }

  namesSaidBy((speaker) => outside.has(speaker));

  // The EVerest manager names the module that died, then stops every other one
  // (EVerest/everest-framework@455a79b:src/manager.cpp, "Module {} (pid: {}) exited with status: {}.
  // Terminating all modules."): the failing module went down with it, whatever the map says.
  for (const l of evidence.logs) {
    if (!inWindow(l.ts)) continue;
    const dead = MODULE_EXITED.exec(l.message)?.[1];
    const s = dead ? graph.resolve(dead) : null;
    if (s)
      consider({
        service: s,
        why: `the EVerest manager reports that it exited and terminated all modules: "${clip(l.message, 120)}"`,
        suggest: { service: failing, dependsOn: s },
        viaPath: false,
        mapped: true,
        terminatedAll: true,
      });
  }

  // The trigger states the version a change of another mapped service installed ("haAfter:
  // 2025.1.0" after Home Assistant Core 2024.12.5 -> 2025.1.0, then a plugin's sensors gone): the
  // failing station runs that release, whatever the map's edges say. A version of the failing
  // service's own is its own business (the details of a reporter state it).
  const stated = statedVersions(event);
  if (stated.size)
    for (const c of evidence.changes) {
      const s = c.service ? graph.resolve(c.service) : null;
      if (!s || c.timestamp > T) continue;
      const v = installedVersions(c.summary).find((x) => stated.has(x));
      if (!v) continue;
      consider({
        service: s,
        why: `the ${event.eventType} states version ${v}, which its change ${c.id} installed`,
        suggest: { service: failing, dependsOn: s },
        viaPath: false,
        mapped: true,
      });
    }

  // A change record for something the map does not know at all (an OS image, a Python environment)
  // shortly before the failure: the map cannot say it is unrelated, so it is weighed like the rest.
  for (const c of evidence.changes) {
    if (!c.service || c.timestamp > T || T - c.timestamp > HALF_LIFE_MS) continue;
    if (changeBase(c, graph).mapped.length) continue;
    consider({
      service: c.service,
      why: `the change record ${c.id} names it, ${Math.round((T - c.timestamp) / 60_000)} min before the ${event.eventType}, and the map does not know it`,
      suggest: { service: failing, dependsOn: c.service },
      viaPath: true,
      mapped: false,
    });
  }

  // EVerest manifests: a module on the failure's path requires what a service outside it provides.
  for (const c of impliedCandidates({ graph, evidence, failing, closure, windowStart: input.windowStart, T }))
    consider(c);

  // A rule's hint is no sign that the failure passed through it: it does not join the trail directly.
  for (const [s, why] of input.pointedAt ?? [])
    consider({
      service: s,
      why,
      suggest: { service: failing, dependsOn: s },
      viaPath: true,
      mapped: true,
      ruled: true,
    });

  const linked = linkCascades({ event, graph, evidence, failing, closure, T, outside }, consider);
  ownDependencies(graph, outside, consider);
  return { outside, linked };
}

/**
 * Cascades: an earlier diagnosis is linked when it shares the session, or when this failure's
 * candidates (declared or pointed at) meet the earlier failure's closure; its service and root are
 * then considered too.
 */
function linkCascades(
  input: {
    event: Parameters<typeof lookOutside>[0]['event'];
    graph: SystemGraph;
    evidence: EvidenceBundle;
    failing: string;
    closure: ReadonlySet<string>;
    T: number;
    outside: ReadonlyMap<string, OutsideCandidate>;
  },
  consider: (c: OutsideCandidate) => void,
): LinkedDiagnosis[] {
  const { event, graph, evidence, failing, closure, T, outside } = input;
  const linked: LinkedDiagnosis[] = [];
  for (const d of evidence.recentReports) {
    if (d.ts > T || d.ts < T - CASCADE_MS) continue;
    const earlier = graph.resolve(d.service) ?? d.service;
    // A repeat of this very failure is a storm, not a cascade: it says nothing about the cause.
    if (earlier === failing && d.eventType === event.eventType && d.errorCode === event.errorCode) continue;
    const root = graph.resolve(d.rootService) ?? d.rootService;
    const reach = new Set(
      graph.services.has(earlier) ? graph.candidates(earlier).map((c) => c.service) : [earlier],
    );
    const near = (s: string) => s === failing || closure.has(s) || outside.has(s);
    const sameSession = !!event.correlationId && d.correlationId === event.correlationId;
    const meets = near(earlier) || near(root) || [...outside.keys()].some((s) => reach.has(s));
    if (!sameSession && !meets) continue;
    const why = sameSession
      ? `the same session's ${d.eventType} on ${d.service}`
      : `the ${d.eventType} on ${d.service}, whose dependencies this failure's evidence reaches`;
    linked.push({ ...d, root, why });
    if (!near(earlier))
      consider({
        service: earlier,
        why: `${why} was diagnosed minutes earlier`,
        suggest: { service: failing, dependsOn: earlier },
        viaPath: false,
        mapped: graph.services.has(earlier),
        cascade: true,
      });
    consider({
      service: root,
      why: `${why} was diagnosed minutes earlier as caused by it`,
      suggest: { service: failing, dependsOn: earlier === root ? root : earlier },
      viaPath: earlier !== root && reach.has(root),
      mapped: graph.services.has(root),
      cascade: true,
    });
  }
  return linked;
}

/**
 * The edge the map lacks brings the outside candidate's own dependencies with it: a meter's Modbus
 * hub is as much a suspect as the meter once the meter is. (Not for a provider only the manifests
 * imply: nothing points at it but the architecture.)
 */
function ownDependencies(
  graph: SystemGraph,
  outside: ReadonlyMap<string, OutsideCandidate>,
  consider: (c: OutsideCandidate) => void,
): void {
  for (const o of [...outside.values()]) {
    if (!o.mapped || o.implied || !graph.services.has(o.service)) continue;
    for (const c of graph.candidates(o.service))
      if (c.distance > 0)
        consider({
          service: c.service,
          why: `${o.service} depends on it (${c.path.join(' -> ')}), and ${o.service} is considered because ${o.why}`,
          suggest: o.suggest,
          viaPath: true,
          mapped: true,
          ...(o.cascade ? { cascade: true } : {}),
        });
  }
}
