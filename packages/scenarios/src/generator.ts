import { addChain, addSession, type Draft } from './assemble.ts';
import type { FaultContext, FaultTemplate, Level, Session } from './chain.ts';
import { buildChanges, addLogDistractors } from './distractors.ts';
import { commsFaults } from './faults/comms.ts';
import { hardwareFaults } from './faults/hardware.ts';
import { sessionFaults } from './faults/session.ts';
import { createRng, hashSeed, type Rng } from './prng.ts';
import { buildStation } from './station.ts';
import {
  type FaultClass,
  faultClasses,
  type Scenario,
  type ScenarioEvent,
  type ScenarioLog,
  type ServiceInstance,
  type Station,
} from './types.ts';

/** Every fault template, by area. */
export const faultTemplates: FaultTemplate[] = [...hardwareFaults, ...commsFaults, ...sessionFaults];

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
  const candidateNames = new Set(station.graph.candidates(failing.name).map((c) => c.service));
  const draft: Draft = { rng, station, ctx, spec, logs, traits, candidateNames, push };
  const { tFail, tRoot } = addChain(draft);
  const sTimes = addSession(draft, tRoot, tFail);
  addLogDistractors(draft, sTimes);
  const { list, culprit } = buildChanges(draft, template.id);
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

/** evse_manager_1 -> EvseManager1, session-manager -> SessionManager (same service after normalising). */
function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
