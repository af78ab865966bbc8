import type { SystemGraph } from '../map/graph.ts';

/** The map's service for an EVerest module id: by name or alias, else the service whose `module:` is it; else the id. */
export function serviceFor(graph: SystemGraph, moduleId: string): string {
  const byName = graph.resolve(moduleId);
  if (byName) return byName;
  for (const s of graph.services.values()) if (s.module === moduleId) return s.name;
  return moduleId;
}
