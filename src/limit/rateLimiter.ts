import { SluiceError, toError } from '../errors.ts';
import { HeldSlots } from './heldSlots.ts';
import { createMemoryReserve, epochNow, type Reserve } from './reserve.ts';
import { type Spend, SpendWindow } from './spendWindow.ts';
import type { Permit, RateLimiter, RateLimitOptions } from './types.ts';
import { checkCost, rateBudget } from './validate.ts';
import { type Waiter, Waiters } from './waiters.ts';

export interface RateLimiterDeps {
  /** Epoch ms. Default: `epochNow`, monotonic with sub-millisecond resolution. */
  now?: () => number;
  /** Where slots come from. Default: an in-process schedule, so the limit holds in this process. */
  reserve?: Reserve;
  /** Called by `pauseUntil`, so a shared schedule pauses every process, not just this one. */
  pause?: (untilMs: number) => Promise<void>;
  /**
   * Hears pauses that other processes write to the shared schedule and calls `hold` with each, at
   * once rather than at the next reservation. Returns what stops listening.
   */
  watchPauses?: (hold: (untilMs: number) => void) => () => void;
  /** Told of every new pause, this process's own or one heard from another: to relay it on. */
  onHold?: (untilMs: number) => void;
  /** Slots released later than this are dropped rather than bunched. Default 20 ms. */
  maxLateMs?: number;
  /** Told of every release, with this limiter's clock: for metrics, and for tests of the cap. */
  onRelease?: (atMs: number, cost: number) => void;
  /** Told of slots dropped for being overdue: what a starved process could not use. */
  onDrop?: (units: number) => void;
}

// A reservation covers about 50 ms of the rate: ~20 reservations/s at any rate, so a shared
// schedule costs ~20 statements/s per process while no process holds more than ~100 ms ahead.
const blockMs = 50;
// 20 ms absorbs ordinary timer lateness on a loaded 2-core machine, so normal ticks lose nothing.
const defaultMaxLateMs = 20;
// A permit is used a moment after it is released: the caller's code runs after `await`, and on
// this shared machine that came 2-4 ms late a few times in every 400 permits (the OS or the GC
// stalled the process in between). The record treats the period as this much longer, so readings
// taken after `await` stay within the budget too; it costs ~0.5 % of a per-second rate.
const useSkewMs = 5;

/**
 * A GCRA (virtual scheduling) limiter: every unit has a slot exactly 1/rate after the previous one,
 * and a permit is released when its slots come due, never earlier. Every permit due is released in
 * one tick, with one timer for the limiter, however high the rate. A sliding record of what was
 * released (`SpendWindow`) backs the schedule, so no window of the period ever holds more than the
 * budget, even when the event loop runs late.
 */
export function createRateLimiter(
  options: RateLimitOptions,
  deps: RateLimiterDeps = {},
): RateLimiter {
  const { budget, periodMs } = rateBudget(options);
  const now = deps.now ?? epochNow;
  const reserve = deps.reserve ?? createMemoryReserve(budget / periodMs, now);
  // Handing back unspent units is safe only when this limiter owns the schedule: with a shared one
  // those slots already passed, and spending them late could overfill another process's window.
  const giveBack = deps.reserve === undefined;
  const maxLateMs = deps.maxLateMs ?? defaultMaxLateMs;
  const blockUnits = Math.max(1, Math.ceil((budget / periodMs) * blockMs));
  const held = new HeldSlots();
  const spent = new SpendWindow(budget, periodMs + useSkewMs);
  const waiters = new Waiters();
  let debt = 0; // units spent beyond estimates, still to be taken from the schedule
  let credit = 0; // units estimated but not spent, free to reuse (own schedule only)
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let reserving = false;
  let closed = false;
  let failure: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  const wake = (at: number): void => {
    if (timer !== undefined && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    // Rounded up: Node measures timers in whole ms and fires a fractional delay up to ~1.5 ms
    // early, which cost a second wake-up per permit at low rates (~150 µs of CPU each here).
    timer = setTimeout(onTimer, Math.max(0, Math.ceil(at - now())));
  };

  // A timer that fires late (a starved process) runs before the event loop reads its sockets, so
  // a pause notice that arrived in the meantime would be read only after the slots it forbids were
  // released. Releasing from setImmediate then lets that read (the poll phase) come first. On time,
  // the last poll phase is just behind us. (Under two CPU hogs, 400/s: requests 8 to 12 ms after
  // the pause without this.)
  const onTimer = (): void => {
    const lateMs = now() - timerAt;
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    if (lateMs > 1) setImmediate(pump);
    else pump();
  };

  const fail = (error: Error): void => {
    if (waiters.rejectAll(error) === 0) failure = error;
  };

  /** Asks for more slots: when the head cannot be served, or ahead of time while demand lasts. */
  const refill = (t: number, headNeed: number): void => {
    if (reserving || closed) return;
    const short = headNeed > held.units;
    const ahead = waiters.units + debt - credit > held.units && held.endMs() - t < blockMs;
    if (!short && !ahead) return;
    const units = Math.max(blockUnits, Math.ceil(headNeed - held.units));
    reserving = true;
    reserve(units).then(
      ({ startMs, intervalMs }) => {
        reserving = false;
        if (closed) return;
        held.add(startMs, intervalMs, units);
        pump();
      },
      (error: unknown) => {
        reserving = false;
        fail(toError(error));
      },
    );
  };

  /** Releases every permit that is due, then sleeps until the next one is. */
  const pump = (): void => {
    while (!closed) {
      const waiter = waiters.first();
      if (!waiter && debt <= 0) return;
      const t = now();
      if (t < pausedUntil) {
        wake(pausedUntil);
        return;
      }
      const dropped = held.dropOverdue(t, maxLateMs);
      if (dropped > 0) deps.onDrop?.(dropped);
      if (debt > 0) {
        const paid = Math.min(debt, held.units);
        held.take(paid);
        debt -= paid;
        if (debt > 0) {
          refill(t, debt);
          return;
        }
      }
      if (!waiter) return;
      const fromCredit = Math.min(credit, waiter.cost);
      const need = waiter.cost - fromCredit;
      const slotAt = need > 0 ? held.dueAt(need) : t;
      if (slotAt === undefined) {
        refill(t, need);
        return;
      }
      const fitsAt = spent.fitsAt(waiter.cost, t);
      if (slotAt > t || fitsAt > t) {
        // Reserving ahead while the record holds the line would only burn slots that go overdue.
        if (slotAt >= fitsAt) refill(t, need);
        wake(Math.max(slotAt, fitsAt));
        return;
      }
      credit -= fromCredit;
      held.take(need);
      waiters.finish(waiter);
      waiter.resolve(permit(waiter.cost, spent.add(t, waiter.cost)));
      deps.onRelease?.(t, waiter.cost);
    }
  };

  /**
   * Holds every release until `untilMs`. The pump reads `pausedUntil` before each release, so a
   * slot reserved before the pause is never released during it (it is dropped as overdue after);
   * a timer armed for such a slot finds the pause when it fires. True when the pause is new.
   */
  const hold = (untilMs: number): boolean => {
    if (closed || !(untilMs > pausedUntil)) return false;
    pausedUntil = untilMs;
    deps.onHold?.(untilMs);
    pump();
    return true;
  };
  const unwatch = deps.watchPauses?.(hold);

  const permit = (cost: number, spend: Spend): Permit => ({
    cost,
    settle(actualCost: number): void {
      checkCost('settle(actualCost)', actualCost);
      const diff = actualCost - spend.cost;
      spent.correct(spend, actualCost);
      if (diff > 0) debt += diff;
      else if (diff < 0) {
        const forgiven = Math.min(debt, -diff);
        debt -= forgiven;
        if (giveBack) credit = Math.min(budget, credit - diff - forgiven);
      }
      pump();
    },
  });

  return {
    acquire(cost = 1, signal?: AbortSignal): Promise<Permit> {
      if (failure) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (closed) return Promise.reject(new SluiceError('The rate limiter is closed'));
      try {
        checkCost('rateLimit.cost', cost, budget);
      } catch (error) {
        return Promise.reject(error);
      }
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<Permit>((resolve, reject) => {
        const waiter: Waiter = { cost, resolve, reject, done: false };
        if (signal) {
          const onAbort = () => {
            waiters.finish(waiter);
            reject(signal.reason);
            pump();
          };
          signal.addEventListener('abort', onAbort, { once: true });
          waiter.detach = () => signal.removeEventListener('abort', onAbort);
        }
        waiters.add(waiter);
        pump();
      });
    },

    pauseUntil(untilMs: number): void {
      if (!hold(untilMs)) return;
      deps.pause?.(untilMs).catch((error: unknown) => fail(toError(error)));
    },

    close(): void {
      if (closed) return;
      closed = true;
      unwatch?.();
      clearTimeout(timer);
      waiters.rejectAll(new SluiceError('The rate limiter was closed'));
    },
  };
}
