import { InputError, toError } from '../../errors.ts';
import { RemoteWorker, type RemoteWorkerOptions, relayingPauses } from './remoteWorker.ts';
import type { Executor, Reservation, TaskCall } from './types.ts';

/** One place in the pool: the worker that holds it now, or the one starting to replace it. */
interface Place {
  worker?: RemoteWorker;
  starting?: Promise<RemoteWorker>;
  busy: number;
}

/**
 * `thread` and `process` with parallelism N: N workers started up front, fed by a queue of
 * tasks, each running up to `perWorker` at once (`funcCpu`). A worker that dies fails the tasks
 * it held, which go through the normal retry path, and the pool starts a replacement, telling
 * `onReplaced` why the worker went.
 */
export function workerPoolExecutor(
  worker: RemoteWorkerOptions,
  size: number,
  perWorker: number,
  onReplaced?: (reason: Error) => void,
): Executor {
  const places: Place[] = Array.from({ length: size }, () => ({ busy: 0 }));
  const held = new Map<number, Place>();
  let waiting: (() => void)[] = [];
  let nextReservation = 0;
  let closing = false;
  // A 429 seen in one worker holds the items of every worker.
  const options = relayingPauses(worker, () => places.map((place) => place.worker));

  const workerOf = (place: Place): Promise<RemoteWorker> => {
    if (place.worker?.alive) return Promise.resolve(place.worker);
    place.starting ??= RemoteWorker.start(options).then(
      (started) => {
        place.worker = started;
        place.starting = undefined;
        void started.exited.then((reason) => {
          // Replace a worker that died, so the pool keeps its size.
          if (closing || place.worker !== started) return;
          onReplaced?.(reason);
          void workerOf(place).catch(() => {});
        });
        return started;
      },
      (error) => {
        place.starting = undefined;
        throw error;
      },
    );
    return place.starting;
  };

  /** Every waiter looks again; few wait (one claimed-ahead task per worker), so waking all is cheap. */
  const wakeAll = () => {
    const woken = waiting;
    waiting = [];
    for (const wake of woken) wake();
  };

  /** The least busy place with room, or undefined when every worker is full. */
  const placeWithRoom = (): Place | undefined => {
    let best: Place | undefined;
    for (const place of places) {
      if (place.busy < perWorker && (!best || place.busy < best.busy)) best = place;
    }
    return best;
  };

  return {
    // One task waiting per worker is enough to cover a complete and a claim (~5 to 10 ms).
    aheadOf: (concurrency) => (concurrency >= size * perWorker ? size : 0),
    async start() {
      try {
        await Promise.all(places.map(workerOf));
      } catch (error) {
        await this.close();
        throw startFailure(worker.kind, error);
      }
    },
    async reserve(signals) {
      for (;;) {
        if (signals.some((signal) => signal.aborted)) return undefined;
        // Taken in the same tick it is found, so two tasks never share one room.
        const place = placeWithRoom();
        if (place) {
          place.busy++;
          const reservation: Reservation = { id: ++nextReservation };
          held.set(reservation.id, place);
          return reservation;
        }
        await new Promise<void>((wake) => {
          const done = () => {
            for (const signal of signals) signal.removeEventListener('abort', done);
            wake();
          };
          for (const signal of signals) signal.addEventListener('abort', done, { once: true });
          waiting.push(done);
        });
      }
    },
    async run(call: TaskCall, room: Reservation) {
      const place = held.get(room.id) as Place;
      held.delete(room.id);
      try {
        return await (await workerOf(place)).run(call);
      } finally {
        // Freed as soon as the worker reports, before the outcome is written: the worker's next
        // task, claimed ahead, starts now.
        place.busy--;
        wakeAll();
      }
    },
    async close() {
      closing = true;
      await Promise.all(
        places.map(async (place) => {
          const started = await place.starting?.catch(() => undefined);
          await (started ?? place.worker)?.stop();
        }),
      );
    },
  };
}

/** A worker that cannot load the job is bad input, reported before anything is written. */
export function startFailure(kind: string, thrown: unknown): Error {
  const error = toError(thrown);
  if (error instanceof InputError) return error;
  const failure = new InputError(`A ${kind} worker could not start: ${error.message}`);
  failure.stack = error.stack;
  return failure;
}
