import { parseSystemMap } from '../../../src/map/system-map.ts';
import { catalogue, type ModuleSpec } from './catalogue.ts';
import type { Rng } from './prng.ts';
import type { Role, ServiceInstance, Station } from './types.ts';

import {
  baseNames,
  type Layout,
  type NamingStyle,
  repos,
  roleAliases,
  teams,
  triggerStyles,
} from './station-names.ts';
interface Draft {
  role: Role;
  connector: number | null;
  current: 'DC' | 'AC' | null;
  spec: ModuleSpec;
  key: string;
  deps: string[];
}

/** Builds a varied, valid station map (10-40 services) with its YAML and graph. */
export function buildStation(rng: Rng): Station {
  for (let attempt = 0; attempt < 50; attempt++) {
    const s = tryBuild(rng);
    if (s) return s;
  }
  throw new Error('could not build a station map within 50 attempts');
}

function tryBuild(rng: Rng): Station | null {
  const kind = rng.pick(['dc', 'ac', 'dual', 'dual'] as const);
  const nDc = kind === 'ac' ? 0 : rng.chance(0.12) ? rng.int(3, 4) : rng.int(1, 2);
  const nAc = kind === 'dc' ? 0 : kind === 'ac' ? rng.int(1, 4) : rng.int(1, 2);
  const style = rng.pick(['snake', 'snake', 'module', 'pascal', 'kebab'] as const);
  const layout = rng.pick(['upstream', 'upstream', 'legacy', 'vendor'] as const);
  const repo = rng.pick(repos[layout]);
  const brokerDeps = rng.chance(0.35);

  const drafts: Draft[] = [];
  const add = (
    role: Role,
    connector: number | null,
    current: 'DC' | 'AC' | null,
    spec?: ModuleSpec,
  ): Draft => {
    const d: Draft = {
      role,
      connector,
      current,
      spec: spec ?? rng.pick(catalogue[role]),
      key: `${role}#${connector ?? ''}${current ?? ''}`,
      deps: [],
    };
    drafts.push(d);
    return d;
  };
  const has = (role: Role) => drafts.some((d) => d.role === role);
  const of = (role: Role) => drafts.filter((d) => d.role === role);

  // Station-wide services first, so per-connector ones can depend on them.
  const broker = rng.chance(0.85) ? add('mqtt_broker', null, null) : null;
  if (rng.chance(0.7)) add('manager', null, null);
  const store = rng.chance(0.85) ? add('persistent_store', null, null) : null;
  const system = rng.chance(0.85) ? add('system', null, null) : null;
  const network = rng.chance(0.55) ? add('network', null, null) : null;
  const csms = rng.chance(0.55) ? add('csms', null, null) : null;
  const security = kind !== 'ac' || rng.chance(0.8) ? add('evse_security', null, null) : null;
  const energy = rng.chance(0.85);
  const em = energy ? add('energy_manager', null, null) : null;
  const gcp = energy ? add('grid_connection_point', null, null) : null;
  const needsHub = nAc > 0 || rng.chance(0.7);
  const hub = needsHub ? add('comm_hub', null, null) : null;
  const ocpp = add('ocpp', null, null);
  const rfid = rng.chance(0.9) ? add('rfid', null, null) : null;
  const auth = add('auth', null, null);

  const sharedBsp = rng.chance(0.4) ? rng.pick(catalogue.bsp.filter((b) => b.type === 'PhyVersoBSP')) : null;
  const imdType = rng.pick(catalogue.imd);
  const psuType = rng.pick(catalogue.powersupply_dc);
  const dcMeterType = rng.pick(catalogue.powermeter_dc);
  const acMeterType = rng.pick(catalogue.powermeter_ac);
  const sharedPsu = nDc >= 2 && rng.chance(0.3);
  const evses: Draft[] = [];
  const bsps: Draft[] = [];
  let connector = 0;
  let sharedPsuDraft: Draft | null = null;
  for (let i = 0; i < nDc + nAc; i++) {
    connector++;
    const dc = i < nDc;
    const evse = add('evse_manager', connector, dc ? 'DC' : 'AC');
    evses.push(evse);
    let bsp: Draft;
    if (sharedBsp && bsps.length && (bsps.at(-1)?.connector ?? 0) === connector - 1 && connector % 2 === 0)
      bsp = bsps.at(-1) as Draft;
    else {
      const spec =
        sharedBsp ??
        (dc
          ? rng.pick(catalogue.bsp.filter((b) => b.type !== 'YetiDriver'))
          : rng.pick(catalogue.bsp.filter((b) => b.type !== 'MicroMegaWattBSP')));
      bsp = add('bsp', connector, null, spec);
      bsps.push(bsp);
    }
    evse.deps.push(bsp.key);
    if (dc) {
      let psu: Draft;
      if (sharedPsu) {
        sharedPsuDraft ??= add('powersupply_dc', null, null, psuType);
        psu = sharedPsuDraft;
      } else psu = add('powersupply_dc', connector, null, psuType);
      const imd = add('imd', connector, null, imdType);
      if (hub && rng.chance(0.8)) imd.deps.push(hub.key);
      const slac = add('slac', connector, null);
      const iso = add('iso15118', connector, null);
      if (security) iso.deps.push(security.key);
      if (rng.chance(0.5)) iso.deps.push(slac.key);
      const meter = add('powermeter_dc', connector, null, dcMeterType);
      evse.deps.push(psu.key, imd.key, slac.key, iso.key, meter.key);
    } else {
      const meter = add('powermeter_ac', connector, null, acMeterType);
      if (hub) meter.deps.push(hub.key);
      evse.deps.push(meter.key);
    }
    if (store && rng.chance(0.6)) evse.deps.push(store.key);
  }
  // Energy management: EvseManager asks EnergyManager for budget; some maps model the EnergyNode
  // tree the other way (grid point requires the EVSEs), which closes a cycle when both are drawn.
  const evseOnEnergy = em && rng.chance(0.45);
  if (em && gcp) em.deps.push(gcp.key);
  if (evseOnEnergy && em) for (const e of evses) e.deps.push(em.key);
  if (gcp && rng.chance(evseOnEnergy ? 0.15 : 0.35)) for (const e of evses) gcp.deps.push(e.key);

  if (rfid) auth.deps.push(rfid.key);
  if (rng.chance(0.65)) auth.deps.push(ocpp.key);
  if (rng.chance(0.4)) for (const e of evses) auth.deps.push(e.key);
  if (network && rng.chance(0.85)) ocpp.deps.push(network.key);
  if (csms && rng.chance(0.85)) ocpp.deps.push(csms.key);
  if (security && rng.chance(0.8)) ocpp.deps.push(security.key);
  if (system && rng.chance(0.6)) ocpp.deps.push(system.key);
  if (rng.chance(0.12)) ocpp.deps.push(auth.key);
  if (rng.chance(0.35)) for (const e of evses) ocpp.deps.push(e.key);
  if (security && system && rng.chance(0.4)) security.deps.push(system.key);
  if (system && network && rng.chance(0.35)) system.deps.push(network.key);
  if (system && rng.chance(0.3)) for (const b of bsps) system.deps.push(b.key);

  const extras: Array<() => void> = [
    () => {
      const d = add('display', null, null);
      d.deps.push(...evses.map((e) => e.key));
      if (rng.chance(0.7)) d.deps.push(auth.key);
    },
    () => {
      const a = add('api', null, null);
      a.deps.push(...evses.map((e) => e.key));
      if (rng.chance(0.5)) a.deps.push(ocpp.key);
    },
    () => {
      const h = add('error_history', null, null);
      if (rng.chance(0.2)) h.deps.push(...evses.map((e) => e.key));
    },
  ];
  for (const extra of extras) if (rng.chance(0.45)) extra();
  while (drafts.length < 10) {
    const missing = (['display', 'api', 'error_history'] as const).find((r) => !has(r));
    if (!missing) return null;
    extras[['display', 'api', 'error_history'].indexOf(missing)]?.();
  }
  if (drafts.length > 40) return null;

  if (broker) {
    const manager = of('manager')[0];
    if (manager) manager.deps.push(broker.key);
    if (brokerDeps)
      for (const d of drafts)
        if (!['mqtt_broker', 'csms', 'network', 'display', 'persistent_store', 'system'].includes(d.role))
          if (!d.deps.includes(broker.key)) d.deps.push(broker.key);
  }

  const paths = pathRoots(layout);
  const names = nameDrafts(drafts, style, nDc, nAc);
  const used = new Set<string>([...names.values()].map(normalise));
  const services: ServiceInstance[] = drafts.map((d) => {
    const name = names.get(d.key) as string;
    const aliases: string[] = [];
    // A bare role alias is only offered for a role with one instance, so it cannot name the wrong one.
    const single = of(d.role).length === 1;
    const aliasPool = single ? [...roleAliases[d.role], d.spec.type] : [];
    if (d.connector !== null) aliasPool.push(`${roleAliases[d.role][0]}${d.connector}`);
    if (d.current && evses.filter((e) => e.current === d.current).length === 1)
      aliasPool.push(`EvseManager${d.current}`);
    for (const a of rng.sample(aliasPool, rng.int(0, 3))) {
      const key = normalise(a);
      if (used.has(key)) continue;
      used.add(key);
      aliases.push(a);
    }
    const external = d.spec.external;
    const svcRepo = external ? rng.pick(external.repoChoices) : null;
    const dir = moduleDir(d.spec, layout, paths);
    const fileEntries = external
      ? (external.mapFiles ?? [external.root])
      : d.role === 'ocpp'
        ? [`${dir}/`, `${paths.libocpp}/lib/ocpp/${rng.pick(['v16/', 'common/websocket/', ''])}`]
        : d.role === 'mqtt_broker'
          ? [`${paths.config}/mosquitto.conf`]
          : rng.chance(0.85)
            ? [`${dir}/`]
            : [...new Set(d.spec.functions.map((f) => `${dir}/${f.file}`))];
    const withFunctions = d.spec.functions.length > 0 && (d.role === 'evse_manager' || rng.chance(0.85));
    return {
      name,
      role: d.role,
      connector: d.connector,
      moduleType: d.spec.type,
      current: d.current,
      aliases,
      files: fileEntries,
      functions: withFunctions ? d.spec.functions.map((f) => f.name) : [],
      dependsOn: [...new Set(d.deps.map((k) => names.get(k) as string))],
      owners: [rng.pick(teams[d.role])],
      repo: svcRepo,
      description: describe(d),
    };
  });
  const byName = new Map(services.map((s) => [s.name, s]));
  const triggerNames = rng.pick(triggerStyles);
  const triggers = Object.values(triggerNames);
  const flow = rng.chance(0.5);
  const yaml = renderMap({ repo, triggers, services, flow, stationLabel: `${kind.toUpperCase()} station` });
  const parsed = parseSystemMap(yaml);
  if (!parsed.ok)
    throw new Error(`generated map is invalid: ${parsed.problems.map((p) => p.message).join('; ')}`);
  return {
    kind,
    repo,
    ocpp: rng.chance(0.7) ? '1.6' : '2.0.1',
    services,
    byName,
    triggerNames,
    triggers,
    yaml,
    graph: parsed.graph,
    modulesRoot: paths.modules,
    layout,
    stationId: rng.pick([
      `CP-DE-${rng.pick(['BER', 'MUC', 'HAM', 'CGN'])}-${rng.int(1, 9999).toString().padStart(4, '0')}`,
      `EVB-P${rng.int(1000000, 9999999)}`,
      `HUB${rng.int(1, 99).toString().padStart(2, '0')}-DISP${rng.int(1, 8)}`,
    ]),
  };
}

/** Where module, libocpp, framework and config files live in each repository layout. */
export function pathRoots(layout: Layout): {
  modules: string;
  libocpp: string;
  framework: string;
  config: string;
} {
  switch (layout) {
    case 'upstream':
      return {
        modules: 'modules',
        libocpp: 'lib/everest/ocpp',
        framework: 'lib/everest/framework',
        config: 'config',
      };
    case 'legacy':
      return {
        modules: 'modules',
        libocpp: '3rd_party/libocpp',
        framework: 'everest-framework',
        config: 'config',
      };
    case 'vendor':
      return {
        modules: 'everest/modules',
        libocpp: 'everest/lib/everest/ocpp',
        framework: 'everest/lib/everest/framework',
        config: 'station/config',
      };
  }
}

/** The directory of a module's sources in a layout (legacy trees had flat modules/<Type>/). */
export function moduleDir(spec: ModuleSpec, layout: Layout, paths = pathRoots(layout)): string {
  if (spec.dir.startsWith('@framework')) return `${paths.framework}/src`;
  if (spec.dir.startsWith('@config')) return paths.config;
  if (spec.external) return spec.external.root.replace(/\/$/, '');
  const dir = layout === 'legacy' ? (spec.dir.split('/').at(-1) ?? spec.dir) : spec.dir;
  return `${paths.modules}/${dir}`;
}

/** Full repository path of a module file ('@libocpp/...' resolves to the layout's libocpp tree). */
export function filePath(spec: ModuleSpec, file: string, layout: Layout): string {
  const paths = pathRoots(layout);
  if (file.startsWith('@libocpp/')) return `${paths.libocpp}/${file.slice('@libocpp/'.length)}`;
  if (spec.external) return `${spec.external.root}${file}`;
  return `${moduleDir(spec, layout, paths)}/${file}`;
}

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

function nameDrafts(drafts: Draft[], style: NamingStyle, nDc: number, nAc: number): Map<string, string> {
  const names = new Map<string, string>();
  const count = (role: Role) => drafts.filter((d) => d.role === role).length;
  for (const d of drafts) {
    let base = baseNames[style][d.role];
    if (style === 'module' && d.role === 'bsp') base = moduleIdOf(d.spec.type);
    if (style === 'module' && d.role === 'powersupply_dc') base = moduleIdOf(d.spec.type);
    const many = count(d.role) > 1 || (style === 'module' && d.role === 'evse_manager');
    let name = base;
    if (d.role === 'evse_manager' && style === 'pascal' && nDc === 1 && nAc === 1)
      name = `${base}${d.current}`;
    else if (many && d.connector !== null) {
      const sep = style === 'pascal' ? '' : style === 'kebab' ? '-' : '_';
      name = `${base}${sep}${d.connector}`;
    }
    let unique = name;
    for (let i = 2; [...names.values()].includes(unique); i++)
      unique = `${name}${style === 'kebab' ? '-' : '_'}${i}`;
    names.set(d.key, unique);
  }
  return names;
}

function moduleIdOf(type: string): string {
  return type
    .replace(/_.*$/, '')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function describe(d: Draft): string {
  if (d.role === 'evse_manager') return `${d.spec.type} (${d.current}, connector ${d.connector})`;
  if (d.connector !== null) return `${d.spec.type} (connector ${d.connector})`;
  return d.spec.type;
}

function renderMap(input: {
  repo: string;
  triggers: string[];
  services: ServiceInstance[];
  flow: boolean;
  stationLabel: string;
}): string {
  const q = (s: string) => (/^[A-Za-z0-9_./-]+$/.test(s) && !/^[-.]/.test(s) ? s : JSON.stringify(s));
  const list = (items: string[], indent: string) =>
    input.flow ? ` [${items.map(q).join(', ')}]` : `\n${items.map((i) => `${indent}  - ${q(i)}`).join('\n')}`;
  const lines = [
    `# TracePulse system map: ${input.stationLabel}`,
    `repo: ${input.repo}`,
    '',
    `triggers:${list(input.triggers, '')}`,
    '',
    'services:',
  ];
  for (const s of input.services) {
    lines.push(`  ${q(s.name)}:`);
    lines.push(`    module: ${JSON.stringify(s.description)}`);
    if (s.aliases.length) lines.push(`    aliases:${list(s.aliases, '    ')}`);
    if (s.repo) lines.push(`    repo: ${s.repo}`);
    lines.push(`    files:${list(s.files, '    ')}`);
    if (s.functions.length) lines.push(`    functions:${list(s.functions, '    ')}`);
    if (s.dependsOn.length) lines.push(`    depends_on:${list(s.dependsOn, '    ')}`);
    lines.push(`    owners:${list(s.owners, '    ')}`);
  }
  return `${lines.join('\n')}\n`;
}
