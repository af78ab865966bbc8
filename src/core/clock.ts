/** Time source injected into pure code so tests never sleep and never read the wall clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A pending timer; cancel() is idempotent. */
export interface Timer {
  cancel(): void;
}

/**
 * Timers injected into the stages that wait (retention, pruning): tests advance a manual clock
 * instead of sleeping. The system's timers never keep the process alive on their own.
 */
export interface Scheduler {
  /** Runs `fn` once, `ms` from now. */
  after(ms: number, fn: () => void): Timer;
  /** Runs `fn` every `ms` from now on. */
  every(ms: number, fn: () => void): Timer;
}

export const systemScheduler: Scheduler = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** A clock tests can move by hand; advance() runs the timers that fall due, in time order. */
export function createManualClock(
  start = Date.UTC(2026, 10, 25, 8, 0, 0),
): Clock & Scheduler & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  let seq = 0;
  const pending = new Map<number, { at: number; every: number | null; fn: () => void }>();
  const add = (ms: number, fn: () => void, every: number | null): Timer => {
    const id = seq++;
    pending.set(id, { at: t + Math.max(0, ms), every, fn });
    return { cancel: () => void pending.delete(id) };
  };
  const runDue = (until: number) => {
    for (;;) {
      let next: [number, { at: number; every: number | null; fn: () => void }] | undefined;
      for (const e of pending) if (e[1].at <= until && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      const [id, timer] = next;
      t = timer.at;
      if (timer.every === null) pending.delete(id);
      else timer.at += Math.max(1, timer.every);
      timer.fn();
    }
    t = until;
  };
  return {
    now: () => t,
    after: (ms, fn) => add(ms, fn, null),
    every: (ms, fn) => add(ms, fn, ms),
    advance: (ms) => runDue(t + ms),
    set: (ms) => {
      t = ms;
    },
  };
}
