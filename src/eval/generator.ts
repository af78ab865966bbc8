import {
  type FaultContext,
  type FaultTemplate,
  type Level,
  pathLine,
  type Session,
  symptomLine,
} from './chain.ts';
import { changeTimes, createChangeFactory } from './changes.ts';
import { commsFaults } from './faults/comms.ts';
import { hardwareFaults } from './faults/hardware.ts';
import { sessionFaults } from './faults/session.ts';
import { backgroundMessage, chronicMessage, otherSessionLines, spread, vagueMessage } from './logs.ts';
import { createRng, hashSeed, type Rng } from './prng.ts';
import { buildStation } from './station.ts';
import {
  type FaultClass,
  faultClasses,
  type Scenario,
  type ScenarioChange,
  type ScenarioEvent,
  type ScenarioLog,
  type ServiceInstance,
  type Station,
} from './types.ts';

/** Every fault template, by area. */
export const faultTemplates: FaultTemplate[] = [...hardwareFaults, ...commsFaults, ...sessionFaults];

const { hour, day } = changeTimes;
const sec = 1000;
const min = 60 * sec;

/** Share of each fault class in a generated set. */
const classShare: Record<FaultClass, number> = {
  'dependency-regression': 0.25,
  'self-regression': 0.2,
  runtime: 0.3,
  'config-firmware': 0.25,
};

export interface GenerateOptions {
  seed: number;
  /** Number of scenarios (default 300). */
  count?: number;
}

/** Generates `count` labelled scenarios; the same seed always yields the same scenarios. */
export function generateScenarios(options: GenerateOptions): Scenario[] {
  const count = options.count ?? 300;
  const plan = classPlan(options.seed, count);
  return plan.map((cls, index) => generateScenario(options.seed, index, cls));
}

/**
 * Fault classes in blocks of 20 (5 a, 4 b, 6 c, 5 d, shuffled per block), so the first N scenarios
 * of a seed are the same whatever the count.
 */
function classPlan(seed: number, count: number): FaultClass[] {
  const block: FaultClass[] = faultClasses.flatMap((cls) =>
    Array.from({ length: Math.round(20 * classShare[cls]) }, () => cls),
  );
  const plan: FaultClass[] = [];
  for (let b = 0; plan.length < count; b++)
    plan.push(...createRng(hashSeed(`plan:${seed}:${b}`)).shuffle(block));
  return plan.slice(0, count);
}

interface Option {
  template: FaultTemplate;
  failing: ServiceInstance;
  root: ServiceInstance;
  path: string[];
}

function feasible(station: Station, cls: FaultClass): Option[] {
  const out: Option[] = [];
  for (const template of faultTemplates) {
    if (!template.classes.includes(cls)) continue;
    for (const failing of station.services) {
      if (!template.failing.includes(failing.role)) continue;
      const candidates = station.graph.candidates(failing.name);
      const roots =
        template.root === 'self'
          ? [failing]
          : station.services.filter((s) => s.role === template.root && s.name !== failing.name);
      for (const root of roots) {
        const c = candidates.find((x) => x.service === root.name);
        if (!c) continue;
        const between = c.path.slice(1, -1).map((n) => station.byName.get(n)?.role);
        const allowed = template.root === 'self' ? [[]] : (template.paths ?? [[]]);
        if (!allowed.some((p) => p.length === between.length && p.every((r, i) => r === between[i])))
          continue;
        if (template.when && !template.when(failing, root, station)) continue;
        out.push({ template, failing, root, path: c.path.slice(1, -1) });
      }
    }
  }
  return out;
}

/** One scenario: a station, a fault of class `cls`, its evidence and distractors, and the labels. */
export function generateScenario(seed: number, index: number, cls: FaultClass): Scenario {
  const rng = createRng(hashSeed(`scenario:${seed}:${index}`));
  let station: Station | null = null;
  let options: Option[] = [];
  for (let attempt = 0; attempt < 60 && !options.length; attempt++) {
    station = buildStation(rng);
    options = feasible(station, cls);
  }
  if (!station || !options.length)
    throw new Error(`no feasible fault of class ${cls} (seed ${seed}, #${index})`);
  // Pick the template first so templates with many feasible pairs do not dominate.
  const templateIds = [...new Set(options.map((o) => o.template.id))];
  const templateId = rng.pick(templateIds);
  const choice = rng.pick(options.filter((o) => o.template.id === templateId));
  return compose(rng, seed, index, cls, station, choice);
}

function compose(
  rng: Rng,
  seed: number,
  index: number,
  cls: FaultClass,
  station: Station,
  choice: Option,
): Scenario {
  const { failing, root, template } = choice;
  const svc = (name: string) => station.byName.get(name) as ServiceInstance;
  const path = choice.path.map(svc);
  const traits: string[] = [];

  const logNames = new Map<string, string>();
  const logName = (s: ServiceInstance) => {
    let n = logNames.get(s.name);
    if (n === undefined) {
      n = s.aliases.length && rng.chance(0.15) ? rng.pick(s.aliases) : s.name;
      if (n !== s.name) traits.push(`log-alias:${s.name}`);
      logNames.set(s.name, n);
    }
    return n;
  };
  const evses = station.services.filter((s) => s.role === 'evse_manager');
  const sessionEvse = failing.role === 'evse_manager' ? failing : rng.pick(evses);
  const session: Session = {
    correlationId: rng.pick([
      rng.uuid(),
      `sess-${rng.hex(12)}`,
      `${station.stationId}-${rng.int(100000, 999999)}`,
    ]),
    connector: sessionEvse.connector ?? 1,
    evse: sessionEvse,
    transactionId: rng.int(1000, 999999),
    idTag: rng.hex(rng.pick([8, 14])).toUpperCase(),
  };
  const ctx: FaultContext = {
    rng,
    station,
    cls,
    failing,
    root,
    path,
    session,
    logName,
    find: (role) => station.services.find((s) => s.role === role),
  };
  const spec = template.build(ctx);
  const logs: ScenarioLog[] = [];
  const push = (
    at: number,
    s: ServiceInstance | string,
    level: Level,
    message: string,
    tag: ScenarioLog['tag'],
    cid?: string,
  ) =>
    logs.push({
      at,
      service: typeof s === 'string' ? s : logName(s),
      level,
      message,
      tag,
      ...(cid ? { correlationId: cid } : {}),
    });

  // --- the fault chain: root -> path -> failing -> trigger -> aftermath and symptoms
  const tFail = -Math.round(rng.float(0.2, 3) * sec);
  const tRoot = -Math.round(rng.float(8, 200) * sec);
  const sessionBound = (s: ServiceInstance) =>
    s.name === sessionEvse.name || (s.name === failing.name && ['auth', 'ocpp'].includes(s.role));
  const cidFor = (s: ServiceInstance) =>
    sessionBound(s) && rng.chance(0.85) ? session.correlationId : undefined;

  const changeCaused = cls !== 'runtime';
  let evidence: 'full' | 'warn-only' | 'silent' = 'full';
  if (root.name !== failing.name) {
    const r = rng.next();
    if (changeCaused) evidence = r < 0.55 ? 'full' : r < 0.85 ? 'warn-only' : 'silent';
    else evidence = r < 0.75 ? 'full' : 'warn-only';
  }
  if (evidence !== 'full') traits.push(`root-${evidence}`);
  let rootLines = spec.root;
  if (evidence === 'warn-only') {
    const warns = rootLines.filter((l) => l.level !== 'error' && l.level !== 'fatal');
    rootLines = warns.some((l) => l.level === 'warn')
      ? warns
      : rootLines.map((l, i) =>
          i === rootLines.findIndex((x) => x.level === 'error') ? { ...l, level: 'warn' } : l,
        );
  } else if (evidence === 'silent')
    rootLines = rootLines.filter((l) => l.level === 'info' || l.level === 'debug');

  const floating = rootLines.filter((l) => l.at === undefined).length;
  const span = tFail - sec - tRoot;
  let t = tRoot;
  for (const l of rootLines) {
    if (l.at !== undefined) {
      push(l.at, root, l.level, l.msg, 'root', cidFor(root));
      continue;
    }
    push(t, root, l.level, l.msg, 'root', cidFor(root));
    t += Math.round(rng.float(0.1, 1) * (span / Math.max(1, floating)));
  }
  const pathSilent = path.length > 0 && rng.chance(0.2);
  if (pathSilent) traits.push('path-silent');
  else
    path.forEach((p, i) => {
      const next = path[i + 1] ?? root;
      const [level, msg] = spec.path?.[p.role] ?? pathLine(ctx, p, next);
      push(Math.round(t + ((tFail - t) * (i + 1)) / (path.length + 1)), p, level, msg, 'path');
    });
  const generic = rng.chance(0.3);
  if (generic) traits.push('failing-generic');
  push(
    tFail,
    failing,
    'error',
    generic ? spec.failing.generic : spec.failing.specific,
    'failing',
    cidFor(failing),
  );
  let ta = tFail;
  for (const [level, msg] of spec.aftermath ?? []) {
    ta += Math.round(rng.float(0.05, 1.5) * sec);
    push(ta, failing, level, msg, 'failing', cidFor(failing));
  }
  for (const e of spec.extra ?? []) push(e.at, e.service, e.level, e.msg, 'symptom');

  // Symptoms: dependents of the failing service log errors after the fault surfaced.
  const candidateNames = new Set(station.graph.candidates(failing.name).map((c) => c.service));
  const dependents = transitiveDependents(station, failing.name).filter(
    (n) => n !== root.name && n !== failing.name,
  );
  const listeners = station.services.filter((s) =>
    ['ocpp', 'display', 'api', 'error_history', 'auth', 'energy_manager'].includes(s.role),
  );
  // Symptoms come from dependents; failing that, from listeners outside the candidates (OCPP, HMI...).
  const hasLine = (x: ServiceInstance) => symptomLine(ctx, x, spec.errorCode) !== null;
  const notRootOrFailing = (x: ServiceInstance) => x.name !== root.name && x.name !== failing.name;
  let symptomPool = dependents.map(svc).filter(hasLine);
  if (!symptomPool.length)
    symptomPool = listeners.filter((x) => notRootOrFailing(x) && !candidateNames.has(x.name) && hasLine(x));
  if (!symptomPool.length) symptomPool = listeners.filter((x) => notRootOrFailing(x) && hasLine(x));
  const symptomServices = rng.sample(symptomPool, rng.int(1, 3));
  for (const s of symptomServices) {
    const msg = symptomLine(ctx, s, spec.errorCode) as string;
    push(
      tFail + Math.round(rng.float(0.05, 4) * sec),
      s,
      'error',
      msg,
      'symptom',
      rng.chance(0.5) ? session.correlationId : undefined,
    );
  }
  if (!symptomServices.length) {
    // Nothing listens to this service: the manager or the bus still notice.
    const other =
      station.services.find((s) => s.name !== root.name && s.name !== failing.name && s.role === 'manager') ??
      rng.pick(station.services.filter((s) => s.name !== root.name && s.name !== failing.name));
    push(
      tFail + Math.round(rng.float(0.05, 3) * sec),
      other,
      'error',
      `Received error ${spec.errorCode} from ${logName(failing)}`,
      'symptom',
    );
  }

  // --- the session before the fault
  const sessionStart = -Math.round(rng.float(40, 45 * 60) * sec);
  const sLines: Array<[ServiceInstance, string]> = [
    [sessionEvse, `Session started on connector ${session.connector} (reason: EVConnected)`],
  ];
  const authSvc = ctx.find('auth');
  const ocppSvc = ctx.find('ocpp');
  if (spec.trigger !== 'auth_failure') {
    if (authSvc)
      sLines.push([authSvc, `Token ${session.idTag} authorized for connector ${session.connector}`]);
    sLines.push([sessionEvse, `Transaction started (session ${session.correlationId})`]);
    if (ocppSvc)
      sLines.push([
        ocppSvc,
        `StartTransaction.conf transactionId=${session.transactionId} idTagInfo.status=Accepted`,
      ]);
    if (spec.trigger !== 'cable_check_fault') sLines.push([sessionEvse, 'ChargingStarted']);
  } else sLines.push([sessionEvse, 'Waiting for authorization']);
  const sTimes = spread(rng, sessionStart, Math.min(tRoot, tFail) - 500, sLines.length);
  for (const [i, [s, msg]] of sLines.entries())
    push(sTimes[i] as number, s, 'info', msg, 'session', session.correlationId);

  // --- log distractors
  const nonCandidates = station.services.filter((s) => !candidateNames.has(s.name));
  const innocentCandidates = station.services.filter(
    (s) => candidateNames.has(s.name) && s.name !== root.name && s.name !== failing.name,
  );
  const windowTime = () => -Math.round(rng.float(2, 290) * sec);

  const noisy = nonCandidates.length ? rng.sample(nonCandidates, rng.int(1, 3)) : [];
  for (const s of noisy)
    for (let i = 0; i < rng.int(1, 2); i++) push(windowTime(), s, 'warn', chronicMessage(rng, s), 'noise');
  if (!noisy.length) {
    push(
      windowTime(),
      'kernel',
      'warn',
      `usb 1-1: reset high-speed USB device number ${rng.int(2, 6)} using ci_hdrc`,
      'noise',
    );
    traits.push('noise-from-kernel');
  }

  const chronicPool = innocentCandidates.length ? innocentCandidates : nonCandidates;
  for (const s of rng.sample(chronicPool.length ? chronicPool : [failing], rng.int(1, 2))) {
    const msg = chronicMessage(rng, s);
    const start = -Math.round(rng.float(3, 10) * hour);
    const every = Math.round(rng.float(8, 30) * min);
    for (let at = start; at < -60 * sec; at += every + Math.round(rng.float(-1, 1) * min))
      push(at, s, 'warn', msg, 'chronic');
    push(windowTime(), s, 'warn', msg, 'chronic');
  }

  const otherEvses = evses.filter((e) => e.name !== sessionEvse.name);
  const otherEvse = otherEvses.length ? rng.pick(otherEvses) : sessionEvse;
  const otherCid = rng.uuid();
  if (otherEvse.name !== sessionEvse.name)
    logs.push(
      ...otherSessionLines(
        ctx,
        otherEvse,
        otherCid,
        -Math.round(rng.float(200, 290) * sec),
        -Math.round(rng.float(1, 60) * sec),
        rng.chance(0.7),
      ),
    );
  else {
    const end = Math.min(...sTimes) - Math.round(rng.float(20, 120) * sec);
    logs.push(
      ...otherSessionLines(
        ctx,
        otherEvse,
        otherCid,
        end - Math.round(rng.float(10, 40) * min),
        end,
        rng.chance(0.7),
      ),
    );
  }

  const vaguePool = [...innocentCandidates, ...nonCandidates];
  for (const s of rng.sample(vaguePool.length ? vaguePool : [failing], rng.int(1, 3)))
    push(windowTime(), s, 'error', vagueMessage(rng), 'vague');

  for (let i = 0; i < rng.int(8, 20); i++) {
    const s = rng.pick(station.services);
    const [level, msg] = backgroundMessage(rng, s);
    push(i % 3 === 0 ? -Math.round(rng.float(0.2, 6) * hour) : windowTime(), s, level, msg, 'background');
  }

  // --- changes: the culprit and the change distractors
  const changes = createChangeFactory(rng, station);
  const pinned = spec.root.filter((l) => l.at !== undefined).map((l) => l.at as number);
  const culpritBuilt = changeCaused
    ? changes.culprit(root, spec.culprit, pinned.length ? Math.min(...pinned) : null)
    : null;
  if (changeCaused && !culpritBuilt)
    throw new Error(`template ${template.id} has no culprit for class ${cls}`);
  const culprit = culpritBuilt?.change ?? null;
  const fn = culpritBuilt?.fn ?? null;
  const list: ScenarioChange[] = culprit ? [culprit] : [];
  if (culprit?.kind === 'deploy') traits.push('culprit-deploy');
  const recent = () => (rng.chance(0.4) ? -rng.int(min, 30 * min) : -rng.int(5 * min, 3 * day));
  const candidateFiles = station.services.filter((s) => candidateNames.has(s.name)).flatMap((s) => s.files);
  const outside = nonCandidates.map((s) => ({
    svc: s,
    sharesCode: s.files.some((f) => candidateFiles.some((g) => f.startsWith(g) || g.startsWith(f))),
  }));
  for (let i = rng.int(1, 3); i > 0; i--) list.push(changes.outsideCandidates(outside, recent()));
  const others = [...innocentCandidates];
  const pickCandidate = (pRoot: number, pFailing: number) => {
    const r = rng.next();
    if (r < pRoot) return root;
    if (r < pRoot + pFailing || !others.length) return failing;
    return rng.pick(others);
  };
  for (let i = rng.int(1, 2); i > 0; i--)
    list.push(changes.old(pickCandidate(0.6, 0.25), -rng.int(8 * day, 25 * day), culpritBuilt));
  for (let i = rng.int(1, 2); i > 0; i--)
    list.push(changes.afterEvent(pickCandidate(0.55, 0.45), rng.int(3 * min, 20 * hour), culprit, fn));
  for (let i = rng.int(1, 2); i > 0; i--)
    list.push(changes.testsOrDocs(pickCandidate(0.5, 0.3), -rng.int(10 * min, 4 * day)));
  const innocentPool = station.services.filter((s) => candidateNames.has(s.name) && s.name !== root.name);
  if (innocentPool.length && rng.chance(0.4)) {
    list.push(changes.innocentCandidate(rng.pick(innocentPool), -rng.int(10 * min, 5 * day)));
    traits.push('innocent-candidate-change');
  }

  // --- the trigger
  const eventService = (() => {
    const r = rng.next();
    if (r < 0.3 && failing.aliases.length) return rng.pick(failing.aliases);
    if (r < 0.4) return pascal(failing.name);
    return failing.name;
  })();
  if (eventService !== failing.name) traits.push('event-alias');
  const nested = rng.chance(0.2);
  const event: ScenarioEvent = {
    eventType: station.triggerNames[spec.trigger],
    service: eventService,
    errorCode: spec.errorCode,
    correlationId: session.correlationId,
    message: spec.eventMessage,
    details: {
      ...spec.details,
      stationId: station.stationId,
      ocppVersion: station.ocpp,
    },
    nested,
  };
  if (station.graph.cycles.length) traits.push('cycle');

  logs.sort((a, b) => a.at - b.at);
  list.sort((a, b) => a.at - b.at);
  return {
    id: `s${seed}-${String(index).padStart(4, '0')}`,
    seed,
    index,
    template: template.id,
    title: template.title,
    stationKind: station.kind,
    serviceCount: station.services.length,
    hasCycle: station.graph.cycles.length > 0,
    mapYaml: station.yaml,
    changes: list,
    logs,
    event,
    label: {
      rootService: root.name,
      failingService: failing.name,
      faultClass: cls,
      changeId: culprit?.id ?? null,
      changeSha: culprit?.sha ?? null,
    },
    traits,
  };
}

function transitiveDependents(station: Station, name: string): string[] {
  const seen = new Set<string>([name]);
  const queue = [name];
  for (let i = 0; i < queue.length; i++)
    for (const d of station.graph.dependents(queue[i] as string))
      if (!seen.has(d)) {
        seen.add(d);
        queue.push(d);
      }
  seen.delete(name);
  return [...seen];
}

/** evse_manager_1 -> EvseManager1, session-manager -> SessionManager (same service after normalising). */
function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
