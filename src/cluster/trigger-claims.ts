import type { Scheduler, Timer } from '../core/clock.ts';
import type { DebugEvent } from '../core/event.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { RedisLink } from './redis-link.ts';

/** Decides which instance analyses (and so delivers) each trigger: the one that holds its claim. */
export interface TriggerClaims {
  /** `run` is called once here if this instance wins the claim now, or later on takeover. */
  offer(event: DebugEvent, run: (event: DebugEvent) => void): void;
  /** A report for `eventId` was stored here: the claim becomes "done" so nobody analyses it again. */
  reported(eventId: string): void;
  state(): { held: number; waiting: number; offline: number };
  stop(): void;
}

/**
 * Claim `<prefix>claim:<eventId>`: `run:<instance>` while analysed (PX ttl, renewed), then
 * `done:<instance>` for a day. A GET-then-SET in one script keeps "done" from being overwritten by
 * a late copy of the event, and lets the holder renew its own claim.
 */
const CLAIM = `local v = redis.call('GET', KEYS[1])
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 'won' end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 'won' end
if string.sub(v, 1, 5) == 'done:' then return 'done' end
return 'held'`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const DONE = `local v = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if v == ARGV[1] or v == false then return 1 end
return 0`;

const DONE_TTL_MS = 86_400_000;
/** A claim is not renewed past this: an analysis that never ends lets another instance try. */
const MAX_HOLD_MS = 5 * 60_000;
const MAX_WAITING = 10_000;
/** While Redis is away a trigger waits this long for it, then is analysed here (the local report never depends on Redis). */
const OFFLINE_WAIT_MS = 2000;

export function createTriggerClaims(deps: {
  link: RedisLink;
  instanceId: string;
  ttlMs: number;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  /** Renewals, takeover checks and the offline wait (tests advance a manual clock). */
  scheduler: Scheduler;
}): TriggerClaims {
  const { link, metrics, logger } = deps;
  const mine = `run:${deps.instanceId}`;
  const key = (id: string) => `${link.prefix}claim:${id}`;
  const held = new Map<string, number>();
  /** Reports stored while Redis was away: marked done once it is back (bounded like `waiting`). */
  const unmarked = new Set<string>();
  const waiting = new Map<string, { event: DebugEvent; run: (e: DebugEvent) => void; checkAt: number }>();
  metrics.describe(
    'tracepulse_cluster_claims_total',
    'Trigger claims by outcome: won, held (another instance has it), done, local (Redis down), takeover, lost',
  );
  metrics.describe(
    'tracepulse_cluster_claims_waiting_dropped_total',
    'Triggers no longer watched (bound reached)',
  );

  const claim = async (id: string): Promise<'won' | 'held' | 'done'> =>
    (await link.send('EVAL', [CLAIM, '1', key(id), mine, String(deps.ttlMs)])) as 'won' | 'held' | 'done';

  const watch = (event: DebugEvent, run: (e: DebugEvent) => void) => {
    if (waiting.size >= MAX_WAITING) {
      const oldest = waiting.keys().next().value as string;
      waiting.delete(oldest);
      metrics.inc('tracepulse_cluster_claims_waiting_dropped_total');
    }
    waiting.set(event.id, { event, run, checkAt: deps.now() + deps.ttlMs / 2 });
  };

  const win = (event: DebugEvent, run: (e: DebugEvent) => void, outcome: string) => {
    held.set(event.id, deps.now());
    metrics.inc('tracepulse_cluster_claims_total', { outcome });
    run(event);
  };

  const markDone = (eventId: string) => {
    if (!link.connected()) {
      if (unmarked.size < MAX_WAITING) unmarked.add(eventId);
      return;
    }
    link.send('EVAL', [DONE, '1', key(eventId), mine, `done:${deps.instanceId}`, String(DONE_TTL_MS)]).then(
      (ok) => {
        if (Number(ok) !== 1) metrics.inc('tracepulse_cluster_claims_total', { outcome: 'lost' });
      },
      () => {
        if (unmarked.size < MAX_WAITING) unmarked.add(eventId);
      },
    );
  };

  /** Offers made while Redis was away: claimed once it is back, or run here after OFFLINE_WAIT_MS. */
  const offline: Array<{ event: DebugEvent; run: (e: DebugEvent) => void; until: number }> = [];
  let offlineTimer: Timer | null = null;
  const drainOffline = () => {
    const now = deps.now();
    for (let i = 0; i < offline.length; ) {
      const o = offline[i]!;
      if (link.connected()) {
        offline.splice(i, 1);
        claimNow(o.event, o.run);
      } else if (o.until <= now) {
        offline.splice(i, 1);
        metrics.inc('tracepulse_cluster_claims_total', { outcome: 'local' });
        o.run(o.event);
      } else i++;
    }
    if (!offline.length && offlineTimer) {
      offlineTimer.cancel();
      offlineTimer = null;
    }
  };

  const claimNow = (event: DebugEvent, run: (e: DebugEvent) => void) => {
    claim(event.id).then(
      (r) => {
        if (r === 'won') win(event, run, 'won');
        else if (r === 'done') metrics.inc('tracepulse_cluster_claims_total', { outcome: 'done' });
        else {
          metrics.inc('tracepulse_cluster_claims_total', { outcome: 'held' });
          watch(event, run);
        }
      },
      (err) => {
        // Redis failed mid-way: the local report must not depend on it.
        logger.warn('trigger claim failed; analysing locally', { eventId: event.id, error: String(err) });
        metrics.inc('tracepulse_cluster_claims_total', { outcome: 'local' });
        run(event);
      },
    );
  };
  link.onConnect(drainOffline);

  let checking = false;
  const tick = async () => {
    if (checking || !link.connected()) return;
    checking = true;
    try {
      const now = deps.now();
      const renewals: Promise<unknown>[] = [];
      for (const [id, since] of held) {
        if (now - since > MAX_HOLD_MS) {
          held.delete(id);
          logger.warn('trigger claim held too long without a report; releasing it', { eventId: id });
          continue;
        }
        renewals.push(link.send('EVAL', [RENEW, '1', key(id), mine, String(deps.ttlMs)]).catch(() => {}));
      }
      await Promise.all(renewals);
      for (const id of unmarked) {
        unmarked.delete(id);
        markDone(id);
      }
      for (const [id, w] of waiting) {
        if (w.checkAt > now) continue;
        try {
          const r = await claim(id);
          if (r === 'held') {
            w.checkAt = now + deps.ttlMs / 2;
            continue;
          }
          waiting.delete(id);
          if (r === 'won') {
            logger.warn('took over a trigger whose claim expired (its instance stopped?)', { eventId: id });
            win(w.event, w.run, 'takeover');
          }
        } catch {
          break; // Redis went away; try again next tick
        }
      }
    } finally {
      checking = false;
    }
  };
  const timer = deps.scheduler.every(Math.max(100, Math.floor(deps.ttlMs / 3)), () => void tick());

  return {
    offer(event, run) {
      if (link.connected()) return claimNow(event, run);
      if (offline.length >= MAX_WAITING) {
        metrics.inc('tracepulse_cluster_claims_total', { outcome: 'local' });
        return run(event);
      }
      offline.push({ event, run, until: deps.now() + Math.min(OFFLINE_WAIT_MS, deps.ttlMs) });
      offlineTimer ??= deps.scheduler.every(100, drainOffline);
    },
    reported(eventId) {
      held.delete(eventId);
      waiting.delete(eventId);
      markDone(eventId);
    },
    state: () => ({ held: held.size, waiting: waiting.size, offline: offline.length }),
    stop: () => {
      timer.cancel();
      offlineTimer?.cancel();
    },
  };
}
