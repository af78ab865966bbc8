import type { SystemMapSpec } from './system-map.ts';

export interface ServiceNode {
  name: string;
  dependsOn: string[];
  files: string[];
  functions: string[];
  repo: string | null;
  owners: string[];
  channel: string | null;
  aliases: string[];
  /** Free text from the map (module type, description): rules match component kinds on it. */
  module: string | null;
  description: string | null;
}

export interface Candidate {
  service: string;
  /** Hops from the failing service along depends_on (0 = the failing service itself). */
  distance: number;
  /** The dependency path from the failing service to this candidate. */
  path: string[];
}

export interface SystemGraph {
  readonly repo: string | null;
  readonly triggers: ReadonlySet<string>;
  readonly services: ReadonlyMap<string, ServiceNode>;
  /** Each cycle once, as a closed path (a -> b -> a). */
  readonly cycles: string[][];
  /** The map's own name for a service name or alias as it appears in events and logs; null when unknown. */
  resolve(name: string): string | null;
  /** Root-cause candidates of a failure in `service`: itself and everything it depends on, transitively (BFS, cycle-safe). */
  candidates(service: string): Candidate[];
  /**
   * The candidates of a failure reported under `name` as events and logs spell it: the closure of
   * the map service it resolves to, or the name alone (the unknown failing service) when the map
   * does not know it.
   */
  failureCandidates(name: string): Candidate[];
  /** Services that depend on `service` directly. */
  dependents(service: string): string[];
  /** Services whose files cover `path` (exact file or a folder entry ending in '/'). */
  servicesForFile(path: string): string[];
}

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Builds the walkable graph from a validated map. */
export function buildGraph(spec: SystemMapSpec): SystemGraph {
  const services = serviceNodes(spec);
  const byName = aliasIndex(services);
  const reverse = dependentsIndex(services);
  const candidateCache = new Map<string, Candidate[]>();

  const graph: SystemGraph = {
    repo: spec.repo ?? null,
    triggers: new Set(spec.triggers),
    services,
    cycles: findCycles(services),
    resolve(name) {
      if (services.has(name)) return name;
      return byName.get(normalise(name)) ?? null;
    },
    candidates(service) {
      const cached = candidateCache.get(service);
      if (cached) return cached;
      const out = dependencyClosure(services, service);
      candidateCache.set(service, out);
      return out;
    },
    dependents(service) {
      return reverse.get(service) ?? [];
    },
    failureCandidates(name) {
      return graph.candidates(graph.resolve(name) ?? name);
    },
    servicesForFile(path) {
      return servicesCovering(services, path);
    },
  };
  return graph;
}

/** The map's services with every optional field filled in (a service's repo defaults to the map's). */
function serviceNodes(spec: SystemMapSpec): Map<string, ServiceNode> {
  const services = new Map<string, ServiceNode>();
  for (const [name, s] of Object.entries(spec.services)) {
    services.set(name, {
      name,
      dependsOn: [...new Set(s.depends_on)],
      files: [...(s.file ? [s.file] : []), ...(s.files ?? [])],
      functions: s.functions ?? [],
      repo: s.repo ?? spec.repo ?? null,
      owners: s.owners ?? [],
      channel: s.channel ?? null,
      aliases: s.aliases ?? [],
      module: s.module ?? null,
      description: s.description ?? null,
    });
  }
  return services;
}

/** Normalised name or alias -> service; the first service to claim a spelling keeps it. */
function aliasIndex(services: Map<string, ServiceNode>): Map<string, string> {
  const byName = new Map<string, string>();
  for (const node of services.values()) {
    for (const alias of [node.name, ...node.aliases]) {
      const key = normalise(alias);
      if (!byName.has(key)) byName.set(key, node.name);
    }
  }
  return byName;
}

/** Service -> the services that depend on it directly. */
function dependentsIndex(services: Map<string, ServiceNode>): Map<string, string[]> {
  const reverse = new Map<string, string[]>();
  for (const node of services.values())
    for (const dep of node.dependsOn) reverse.set(dep, [...(reverse.get(dep) ?? []), node.name]);
  return reverse;
}

/** `service` and everything it depends on, transitively, nearest first. */
function dependencyClosure(services: Map<string, ServiceNode>, service: string): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<string>([service]);
  const queue: Candidate[] = [{ service, distance: 0, path: [service] }];
  // BFS over a visited set: terminates on cycles and gives shortest distances.
  for (let i = 0; i < queue.length; i++) {
    const c = queue[i]!;
    out.push(c);
    for (const dep of services.get(c.service)?.dependsOn ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      queue.push({ service: dep, distance: c.distance + 1, path: [...c.path, dep] });
    }
  }
  return out;
}

/** Services whose files cover `path`: an exact file, or a folder entry ending in '/'. */
function servicesCovering(services: Map<string, ServiceNode>, path: string): string[] {
  const p = path.replace(/^\.?\//, '');
  const hits: string[] = [];
  for (const node of services.values()) {
    for (const f of node.files) {
      const entry = f.replace(/^\.?\//, '');
      if (entry.endsWith('/') ? p.startsWith(entry) : p === entry) {
        hits.push(node.name);
        break;
      }
    }
  }
  return hits;
}

/** Finds elementary cycles reachable by DFS (one per back edge), each reported once. */
function findCycles(services: Map<string, ServiceNode>): string[][] {
  const cycles: string[][] = [];
  const seenKeys = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, 'open');
    stack.push(name);
    for (const dep of services.get(name)?.dependsOn ?? []) {
      const st = state.get(dep);
      if (st === 'open') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep];
        const key = [...cycle.slice(0, -1)].sort().join('|');
        if (!seenKeys.has(key)) {
          seenKeys.add(key);
          cycles.push(cycle);
        }
      } else if (st === undefined) visit(dep);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of [...services.keys()].sort()) if (!state.has(name)) visit(name);
  return cycles;
}
