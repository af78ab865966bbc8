import { AsyncLocalStorage } from 'node:async_hooks';

/** Holds the correlation id (OCPP transaction id, session id) of the work running now. */
export const correlationStorage: AsyncLocalStorage<string> = new AsyncLocalStorage<string>();

/** Runs `fn` with `id` as the correlation id for everything it logs, including across awaits. */
export function withCorrelationId<T>(id: string, fn: () => T): T {
  return correlationStorage.run(id, fn);
}

/** The correlation id set by the nearest enclosing `withCorrelationId()`, if any. */
export function currentCorrelationId(): string | undefined {
  return correlationStorage.getStore();
}
