import { everestInterfaces } from './everest-interfaces.ts';
import type { SystemGraph } from './graph.ts';

/**
 * Dependencies an EVerest station has whether or not its map lists them: a module's manifest says
 * which interfaces it requires (Auth requires an auth_token_provider, GenericPowermeter a
 * serial_communication_hub), and another service of the map runs a module that provides it.
 */
export interface ImpliedEdge {
  dependsOn: string;
  /** The interface the requiring module needs and the other provides. */
  interface: string;
  module: string;
  providerModule: string;
  /**
   * Implied only because the map's one provider of an optional interface may be shared: the
   * architecture alone does not say so, so it takes the provider's own anomaly to suspect it.
   */
  weak: boolean;
}

/** The EVerest module type a map service runs: the first word of its `module` ("EvseManager (AC)"). */
export function everestModuleOf(graph: SystemGraph, service: string): string | null {
  const m = graph.services.get(service)?.module?.match(/^[A-Za-z0-9_]+/)?.[0];
  return m && Object.hasOwn(everestInterfaces, m) ? m : null;
}

const cache = new WeakMap<SystemGraph, Map<string, ImpliedEdge[]>>();

/**
 * The edges the manifests imply and the map lacks, by requiring service: for each interface the
 * module requires and the map wires to no provider at all. When the map has several providers of
 * the interface, one that another service of the same module type already depends on is taken (the
 * map wired it to that one: the second connector's IMD is not the first connector's), so it is not
 * implied again; the only provider of an interface the module needs is shared (one serial hub for
 * every meter).
 */
export function impliedEdges(graph: SystemGraph): ReadonlyMap<string, readonly ImpliedEdge[]> {
  const hit = cache.get(graph);
  if (hit) return hit;
  const moduleOf = new Map<string, string>();
  for (const s of graph.services.keys()) {
    const m = everestModuleOf(graph, s);
    if (m) moduleOf.set(s, m);
  }
  const providers = new Map<string, string[]>();
  for (const [s, m] of moduleOf)
    for (const i of everestInterfaces[m]!.provides) providers.set(i, [...(providers.get(i) ?? []), s]);
  // The module types of the services that depend on each service: "another service of the same
  // module type already depends on it" in one lookup (a scan per pair made a 2000-service map's
  // first trigger take 17 s).
  const dependedOnByModule = new Map<string, Set<string>>();
  for (const [s, m] of moduleOf)
    for (const d of graph.services.get(s)!.dependsOn) {
      const set = dependedOnByModule.get(d) ?? new Set<string>();
      set.add(m);
      dependedOnByModule.set(d, set);
    }
  const out = new Map<string, ImpliedEdge[]>();
  for (const [s, m] of moduleOf) {
    const declared = new Set(graph.services.get(s)!.dependsOn);
    const edges: ImpliedEdge[] = [];
    const requires = everestInterfaces[m]!.requires;
    for (const i of requires) {
      // A requirement the map already wires to a provider was thought about: the others it leaves
      // out are left out on purpose (OCPP wired to connectors 1 and 2 is not missing connector 3).
      // A dependency that also serves another requirement does not show that (Auth is wired to the
      // EvseManagers it requires, which happen to provide tokens too: its reader may still be missing).
      const servesOnlyThis = (p: string) => {
        const provides = everestInterfaces[moduleOf.get(p)!]!.provides;
        return !requires.some((j) => j !== i && provides.includes(j));
      };
      if ((providers.get(i) ?? []).some((p) => declared.has(p) && servesOnlyThis(p))) continue;
      const all = providers.get(i) ?? [];
      for (const p of all) {
        if (p === s || declared.has(p)) continue;
        // The map's only provider of an interface the module cannot run without is shared by every
        // requirer (one serial hub on the bus of every meter); with several, or for an optional
        // requirement, each provider is one requirer's (an IMD per connector).
        const optional = everestInterfaces[m]!.optional.includes(i);
        const shared = all.length === 1;
        // s itself does not depend on p (declared above), so a dependent of type m is another.
        const taken = dependedOnByModule.get(p)?.has(m) ?? false;
        if (taken && !shared) continue;
        edges.push({
          dependsOn: p,
          interface: i,
          module: m,
          providerModule: moduleOf.get(p)!,
          weak: taken && optional,
        });
      }
    }
    if (edges.length) out.set(s, edges);
  }
  cache.set(graph, out);
  return out;
}
