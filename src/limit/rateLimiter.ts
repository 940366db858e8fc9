import { SluiceError, toError } from '../errors.ts';
import { HeldSlots } from './heldSlots.ts';
import { createMemoryReserve, epochNow, type Reserve } from './reserve.ts';
import { type Spend, SpendWindow } from './spendWindow.ts';
import type { Permit, RateLimiter, RateLimitOptions } from './types.ts';
import { checkCost, rateBudget } from './validate.ts';

export interface RateLimiterDeps {
  /** Epoch ms. Default: `epochNow`, monotonic with sub-millisecond resolution. */
  now?: () => number;
  /** Where slots come from. Default: an in-process schedule, so the limit holds in this process. */
  reserve?: Reserve;
  /** Called by `pauseUntil`, so a shared schedule pauses every process, not just this one. */
  pause?: (untilMs: number) => Promise<void>;
  /** Slots released later than this are dropped rather than bunched. Default 20 ms. */
  maxLateMs?: number;
  /** Told of every release, with this limiter's clock: for metrics, and for tests of the cap. */
  onRelease?: (atMs: number, cost: number) => void;
}

// A reservation covers about 50 ms of the rate: ~20 reservations/s at any rate, so a shared
// schedule costs ~20 statements/s per process while no process holds more than ~100 ms ahead.
const blockMs = 50;
// 20 ms absorbs ordinary timer lateness on a loaded 2-core machine, so normal ticks lose nothing.
const defaultMaxLateMs = 20;
// A permit is used a moment after it is released: the caller's continuation runs later, by up to a
// millisecond while code is still cold, and a request travels. The record treats the period as
// this much longer, so those uses stay within the budget too; it costs ~0.2 % of a per-second rate.
const useSkewMs = 2;

interface Waiter {
  cost: number;
  resolve: (permit: Permit) => void;
  reject: (reason: unknown) => void;
  done: boolean;
  release?: () => void;
}

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
  let queue: Waiter[] = [];
  let head = 0;
  let queuedUnits = 0;
  let debt = 0; // units spent beyond estimates, still to be taken from the schedule
  let credit = 0; // units estimated but not spent, free to reuse (own schedule only)
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let reserving = false;
  let closed = false;
  let failure: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;

  const firstWaiting = (): Waiter | undefined => {
    while (head < queue.length && (queue[head] as Waiter).done) head++;
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    return queue[head];
  };

  const finish = (waiter: Waiter): void => {
    waiter.done = true;
    queuedUnits -= waiter.cost;
    waiter.release?.();
  };

  const wake = (at: number): void => {
    if (timer !== undefined && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(onTimer, Math.max(0, at - now()));
  };

  const onTimer = (): void => {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    pump();
  };

  const fail = (error: Error): void => {
    const waiting = queue.slice(head).filter((waiter) => !waiter.done);
    if (waiting.length === 0) failure = error;
    for (const waiter of waiting) {
      finish(waiter);
      waiter.reject(error);
    }
  };

  /** Asks for more slots: when the head cannot be served, or ahead of time while demand lasts. */
  const refill = (t: number, headNeed: number): void => {
    if (reserving || closed) return;
    const short = headNeed > held.units;
    const ahead = queuedUnits + debt - credit > held.units && held.endMs() - t < blockMs;
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
      const waiter = firstWaiting();
      if (!waiter && debt <= 0) return;
      const t = now();
      if (t < pausedUntil) {
        wake(pausedUntil);
        return;
      }
      held.dropOverdue(t, maxLateMs);
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
      refill(t, need);
      if (slotAt === undefined) return;
      const at = Math.max(slotAt, spent.fitsAt(waiter.cost, t));
      if (at > t) {
        wake(at);
        return;
      }
      credit -= fromCredit;
      held.take(need);
      finish(waiter);
      waiter.resolve(permit(waiter.cost, spent.add(t, waiter.cost)));
      deps.onRelease?.(t, waiter.cost);
    }
  };

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
            finish(waiter);
            reject(signal.reason);
            pump();
          };
          signal.addEventListener('abort', onAbort, { once: true });
          waiter.release = () => signal.removeEventListener('abort', onAbort);
        }
        queue.push(waiter);
        queuedUnits += cost;
        pump();
      });
    },

    pauseUntil(untilMs: number): void {
      if (closed || !(untilMs > pausedUntil)) return;
      pausedUntil = untilMs;
      deps.pause?.(untilMs).catch((error: unknown) => fail(toError(error)));
      pump();
    },

    close(): void {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      const error = new SluiceError('The rate limiter was closed');
      for (const waiter of queue.slice(head)) {
        if (waiter.done) continue;
        finish(waiter);
        waiter.reject(error);
      }
      queue = [];
      head = 0;
    },
  };
}
