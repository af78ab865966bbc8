import type { Adjustments, ContextKey, LearntModel } from '../core/learnt-model.ts';

export type { Adjustments, ContextKey, LearntModel } from '../core/learnt-model.ts';
export { adjustmentsTag } from '../core/learnt-model.ts';

/**
 * Adjustments apply per failure context: the trigger's event type and error code ("TYPE/CODE"), with
 * the error code alone ("* /CODE", no space) as the fallback. Error codes are the standard OCPP/EVerest
 * ones, while event type names differ from station to station.
 */
export const contextKey = (eventType: string, errorCode: string): ContextKey => `${eventType}/${errorCode}`;
export const codeKey = (errorCode: string): ContextKey => `*/${errorCode}`;

export const baseModel: LearntModel = { version: 'adj-0', contexts: {} };

/** Bounds of every multiplier: feedback can at most halve or double a weight. */
export const multiplierBounds = { min: 0.5, max: 2 } as const;

/** The adjustments for one trigger; undefined when nothing was learnt for its context. */
export function adjustmentsFor(
  model: Pick<LearntModel, 'contexts'>,
  eventType: string,
  errorCode: string,
): Adjustments | undefined {
  return model.contexts[contextKey(eventType, errorCode)] ?? model.contexts[codeKey(errorCode)];
}

/** A stable text form of adjustments (key order does not matter). */
export const canonical = (a: Adjustments | undefined): string =>
  JSON.stringify([
    Object.entries(a?.rules ?? {}).sort(([x], [y]) => x.localeCompare(y)),
    Object.entries(a?.services ?? {}).sort(([x], [y]) => x.localeCompare(y)),
  ]);

export const sameAdjustments = (a: Adjustments | undefined, b: Adjustments | undefined): boolean =>
  canonical(a) === canonical(b);

/** Contexts whose adjustments differ between two models. */
export function changedContexts(a: LearntModel['contexts'], b: LearntModel['contexts']): ContextKey[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !sameAdjustments(a[k], b[k]));
}
