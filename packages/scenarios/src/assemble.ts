import type { ChainSpec, FaultContext, Level } from './chain.ts';
import { pathLine, symptomLine } from './chain.ts';
import { spread } from './logs.ts';
import type { Rng } from './prng.ts';
import type { ScenarioLog, ServiceInstance, Station } from './types.ts';

const sec = 1000;

/** A scenario being assembled: its fault context, the template's chain, and the lines so far. */
export interface Draft {
  rng: Rng;
  station: Station;
  ctx: FaultContext;
  spec: ChainSpec;
  logs: ScenarioLog[];
  traits: string[];
  /** Names of the failing service's root-cause candidates (itself included). */
  candidateNames: Set<string>;
  push(
    at: number,
    s: ServiceInstance | string,
    level: Level,
    message: string,
    tag: ScenarioLog['tag'],
    cid?: string,
  ): void;
}

/**
 * The fault chain as timed lines: root anomaly, services on the path, the failing service's error
 * just before the trigger, its aftermath, and symptom errors of dependents after it. Evidence is
 * thinned on purpose: the root may log only warnings or nothing, the failing error may be generic.
 */
export function addChain(d: Draft): { tFail: number; tRoot: number } {
  const { rng, station, ctx, spec, traits, push, candidateNames } = d;
  const { failing, root, path, session, logName, cls } = ctx;
  const sessionEvse = session.evse;
  const svc = (name: string) => station.byName.get(name) as ServiceInstance;
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
  return { tFail, tRoot };
}

/** The session's own lifecycle lines before the fault; returns their times. */
export function addSession(d: Draft, tRoot: number, tFail: number): number[] {
  const { rng, ctx, spec, push } = d;
  const { session } = ctx;
  const sessionEvse = session.evse;
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
  return sTimes;
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
