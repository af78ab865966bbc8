import type { Role } from '../types.ts';

/** Shapes of the module catalogue: functions with realistic bodies and the edits a diff can make. */
/** One line edit inside a function body: body[line] is replaced by `to`. */
export interface Edit {
  line: number;
  to: string[];
  message: string;
}

/** A function of a module's source, with a short realistic body used as diff context. */
export interface FnSpec {
  /** The name the system map lists (qualified as EVerest writes it). */
  name: string;
  /** File relative to the module directory. */
  file: string;
  /** The line a hunk header shows (git's enclosing-function line). */
  signature: string;
  /** Line number of the body's first line in the file. */
  line: number;
  /** What the function does in failure chains; templates ask for a tag. */
  tags: string[];
  body: string[];
  /** Edits that break the function in the way its tags describe. */
  regressions: Edit[];
  /** Edits that change the function harmlessly (log text, refactor). */
  benign: Edit[];
}

export interface ModuleSpec {
  type: string;
  role: Role;
  /** Directory under the modules root in the upstream layout, e.g. 'EVSE/EvseManager'. */
  dir: string;
  functions: FnSpec[];
  /** Extra source files that belong to the module (for tests/docs distractors and file lists). */
  extraFiles?: string[];
  /** Set when the component lives outside everest-core (own repo, own paths). */
  external?: {
    repoChoices: string[];
    root: string /** Entries for the map's files (default: root). */;
    mapFiles?: string[];
  };
}

/** Identity helper that keeps object literals checked against FnSpec. */
export const fn = (spec: FnSpec): FnSpec => spec;
