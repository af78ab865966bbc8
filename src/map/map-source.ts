import type { SystemGraph } from './graph.ts';
import type { MapProblem } from './system-map.ts';

export interface MapState {
  graph: SystemGraph;
  yaml: string;
  origin: 'file' | 'api' | 'empty';
  loadedAt: number;
  warnings: MapProblem[];
  /** Problems of the last rejected load (file edit or PUT); the last good map stays in force. */
  lastError: { at: number; origin: string; problems: MapProblem[] } | null;
}

/** The system map in force and how it changes (implemented by sources/system-map-source.ts). */
export interface SystemMapSource {
  current(): MapState;
  /** Validates and applies a map from the API; stored so it survives a restart. */
  put(yaml: string): { ok: true; warnings: MapProblem[] } | { ok: false; problems: MapProblem[] };
  onChange(listener: (state: MapState) => void): void;
  stop(): void;
}
