import { setMaxListeners } from 'node:events';
import type { Sql } from 'postgres';
import type { Job } from '../job/types.ts';
import type { Events } from '../observe/events.ts';
import type { ClaimedTask, Store } from '../store/index.ts';
import { type ClaimWithBatch, CompletionBatch } from './completionBatch.ts';
import { executeTask } from './executeTask.ts';
import type { Executor } from './executors/types.ts';
import { startHousekeeping } from './housekeeping.ts';
import type { JobLimits } from './jobLimits.ts';
import { claimFor } from './taskGraph.ts';
import { WorkerSlot } from './workerSlot.ts';

export interface PoolOptions {
  job: Job;
  jobId: string;
  store: Store;
  events: Events;
  /** Opens a worker's own connection to the source database (a pool of one). */
  connectSource: () => Sql;
  /** Local workers in this process. The store still caps the job across all processes. */
  concurrency: number;
  /** Stop claiming; running tasks finish. */
  stop: AbortSignal;
  /** Abort running tasks; their claims are released. */
  abort: AbortSignal;
  /** How often an idle pool looks for work freed elsewhere. */
  pollMs: number;
  limits: JobLimits;
  /** Cancels the running queries of these backends, from a connection outside the pool. */
  cancelBackends(pids: number[]): Promise<void>;
  /** Thread or process workers that run the job's function; absent, tasks run in this process. */
  executor?: Executor;
}

/**
 * Claims tasks for the idle local workers, runs them, and records their outcomes, until the job
 * has nothing pending or running anywhere, or the run is stopped.
 */
export class WorkerPool {
  private idle: WorkerSlot[];
  private readonly all: WorkerSlot[];
  private running = new Set<Promise<void>>();
  /** Set when something happened that the dispatch loop should look at before sleeping. */
  private woken = false;
  /** Looks in a row that found nothing to claim, since the last claim or wake-up: the poll backs off. */
  private fruitless = 0;
  /** When the next task in retry backoff becomes runnable, as the first fruitless look read it. */
  private nextRunnable?: number;
  private wakeSleeper: () => void = () => {};
  /** The first error that ended the run from under its tasks: the store's, or a lost database. */
  private failure?: { error: unknown };
  /** Aborts every local task once the run has failed: their results could not be recorded. */
  private readonly failed = new AbortController();
  /** What tasks see as the run's abort: the caller's, or the run failing under them. */
  private readonly abort: AbortSignal;
  private readonly completions: CompletionBatch;
  /** The workers' source connections closing, once run() has returned. */
  private closing?: Promise<void>;
  /** Tasks claimed and not started yet: they start as workers come free (a batch's are freeing them). */
  private prefetched: ClaimedTask[] = [];
  /** Room held for claims in flight: the dispatch loop's, and those sent with completions. */
  private promised = 0;

  constructor(private readonly o: PoolOptions) {
    this.abort = AbortSignal.any([o.abort, this.failed.signal]);
    // Thread and process workers get their next task claimed ahead (`aheadOf`); such a task
    // takes a slot here, with no connection: it only waits for its worker.
    const slots = o.concurrency + (o.executor?.aheadOf(o.concurrency) ?? 0);
    // Every running task listens on the abort signal (a task waiting for its worker on the stop
    // signal too); a cap of 20 is not a leak.
    setMaxListeners(slots + 10, o.abort, o.stop, this.abort);
    this.all = Array.from(
      { length: slots },
      () => new WorkerSlot(o.connectSource, o.job, this.abort, o.limits.pacerFor()),
    );
    this.idle = [...this.all];
    this.completions = new CompletionBatch(
      o.store.sql,
      o.jobId,
      () => this.running.size,
      this.claimWithBatch(),
    );
  }

  /**
   * Resolves when the job has no open tasks (true) or the run was stopped (false). Rejects when
   * the store fails (the database went away, say) once every local task has settled: they are
   * aborted then, as nothing they finish could be recorded.
   */
  async run(): Promise<boolean> {
    const { stop } = this.o;
    const onStop = () => this.wake();
    const onAbort = () => void this.cancelQueries();
    stop.addEventListener('abort', onStop);
    this.o.abort.addEventListener('abort', onAbort);
    const housekeeping = startHousekeeping({
      ...{ store: this.o.store, jobId: this.o.jobId, events: this.o.events },
      wake: () => this.wake(),
      fail: (error) => this.fail(error),
    });
    let closed = false;
    try {
      closed = await this.dispatch();
    } catch (error) {
      this.fail(error);
    } finally {
      stop.removeEventListener('abort', onStop);
      // Running tasks may still be aborted while we wait for them. Tasks claimed with their
      // completions start as workers free up: stopped, they go back untouched (executeTask).
      for (this.startPrefetched(); this.running.size > 0; this.startPrefetched()) {
        await Promise.all(this.running);
      }
      this.o.abort.removeEventListener('abort', onAbort);
      clearInterval(housekeeping);
      // Closed while the job is finished, not before: 20 source connections took 27 ms to close.
      this.closing = Promise.all(this.all.map((worker) => worker.close())).then(() => {});
    }
    if (this.failure) throw this.failure.error;
    return closed;
  }

  /** Waits for the workers' source connections to close, after run(). */
  async closeWorkers(): Promise<void> {
    await this.closing;
  }

  private async dispatch(): Promise<boolean> {
    const { store, jobId, stop } = this.o;
    while (!stop.aborted && !this.failure) {
      this.startPrefetched();
      const room = this.room();
      if (room > 0) {
        const held = this.held();
        const claimed = await this.claiming(room, () =>
          claimFor(this.o.job, store, jobId, room, held),
        );
        if (claimed.length > 0) continue;
      }
      const busy = this.running.size + this.prefetched.length + this.promised;
      if (busy === 0 && (await this.jobClosed())) return true;
      await this.sleep(await this.idleWaitMs());
    }
    return false;
  }

  /** Ends the run with its first error, aborting the tasks still running here. */
  private fail(error: unknown): void {
    this.failure ??= { error };
    // The reason tells each task why: after a lost database it has nothing to write back.
    this.failed.abort(this.failure.error);
    this.wake();
  }

  /**
   * Tasks this process may claim now, or once `finishing` running tasks end: its idle workers,
   * under its adaptive cap if it has one, less the tasks claimed or being claimed for them.
   */
  private room(finishing = 0): number {
    const held = this.prefetched.length + this.promised;
    const free = this.idle.length + finishing - held;
    const adaptive = this.o.limits.adaptive;
    const capped = adaptive ? adaptive.current() - (this.running.size - finishing) - held : free;
    return Math.max(0, Math.min(free, capped));
  }

  /**
   * Runs a claim of up to `room` tasks, holding that room while it is out (so a claim made
   * meanwhile counts these workers as taken), and queues what it brought to start as workers are
   * free: the dispatch loop's claims and those sent with a batch of completions alike.
   */
  private async claiming(room: number, claim: () => Promise<ClaimedTask[]>) {
    const started = performance.now();
    let claimed: ClaimedTask[] = [];
    this.promised += room;
    try {
      claimed = await claim();
      return claimed;
    } finally {
      this.promised -= room;
      this.o.events.emit('claim:done', { tasks: claimed.length, ms: performance.now() - started });
      this.prefetched.push(...claimed);
      if (claimed.length > 0) this.fruitless = 0;
      this.startPrefetched();
    }
  }

  /**
   * Claims the next tasks in the round trip that records a batch of completions: as many as the
   * workers finishing them, and any idle ones, can start. Only plain jobs batch their completions.
   */
  private claimWithBatch(): ClaimWithBatch {
    const { store, jobId } = this.o;
    return {
      room: (finishing) => (this.o.stop.aborted || this.failure ? 0 : this.room(finishing)),
      send: async (chunks, limit) => {
        const held = this.held();
        let finished = new Set<number>();
        await this.claiming(limit, async () => {
          const sent = await store.finishChunksAndClaim(jobId, chunks, limit, held);
          finished = sent.finished;
          return sent.claimed;
        });
        // The dispatch loop may be asleep with workers about to come free for these tasks.
        this.wake();
        return finished;
      },
    };
  }

  /**
   * Tasks of the job this process holds: running, or claimed and waiting for a worker. Those a
   * batch is finishing still count, which only makes the store's fair-share check stricter.
   */
  private held(): number {
    return this.running.size + this.prefetched.length;
  }

  /** Starts tasks claimed with completions on the workers free now. */
  private startPrefetched(): void {
    while (this.prefetched.length > 0 && this.idle.length > 0) {
      this.start(this.prefetched.shift() as ClaimedTask);
    }
  }

  /** A second Ctrl-C cancels the queries of running tasks on the server too. */
  private async cancelQueries(): Promise<void> {
    const pids = this.all
      .filter((worker) => worker.busy && worker.pid)
      .map((worker) => worker.pid as number);
    if (pids.length > 0) await this.o.cancelBackends(pids).catch(() => {});
  }

  private async jobClosed(): Promise<boolean> {
    return !(await this.o.store.hasOpenTasks(this.o.jobId));
  }

  /**
   * Sleeps until a local task ends, the next backoff expires, or the poll interval passes. The
   * interval doubles with each look that finds nothing, up to 10 polls: an idle process (its job's
   * tasks all held elsewhere) looks every 2 s by default, two queries, where it looked every
   * 200 ms with three (test/store/idleQueries.test.ts counts what it sends). Work freed here (a
   * task ending, a reclaim, an appended batch) wakes the loop at once and resets the interval.
   */
  private async idleWaitMs(): Promise<number> {
    // With no room, only a task ending (which wakes the loop) can make some.
    if (this.room() === 0) return this.o.pollMs * 10;
    const poll = Math.min(this.o.pollMs * 2 ** this.fruitless, this.o.pollMs * 10);
    // The first look after work asks when the next task in retry backoff is due; later ones
    // keep that answer, so a process whose own task failed retries it on time.
    if (this.fruitless++ === 0) {
      this.nextRunnable = (await this.o.store.nextRunnableAt(this.o.jobId))?.getTime();
    }
    const due = (this.nextRunnable ?? Number.POSITIVE_INFINITY) - Date.now();
    if (due > 0) return Math.max(5, Math.min(poll, due));
    // Runnable already, yet not claimed: the job's cap is full with other processes' tasks, or
    // another process took it. Polling sooner would only spin.
    this.nextRunnable = undefined;
    return poll;
  }

  /** Looks for work now: a task ended here, or a batch was appended (micro-batching). */
  wake(): void {
    this.woken = true;
    this.fruitless = 0;
    this.wakeSleeper();
  }

  /**
   * Sleeps unless woken since the loop last looked: a task that ends while the loop is busy
   * querying must not be missed until the next poll.
   */
  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((done) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeSleeper = () => {};
        this.woken = false;
        done();
      };
      const timer = setTimeout(finish, ms);
      this.wakeSleeper = finish;
    });
  }

  private start(task: ClaimedTask): void {
    const worker = this.idle.pop() as WorkerSlot;
    worker.busy = true;
    const runner = { ...this.o, abort: this.abort, completions: this.completions };
    const done = executeTask(runner, worker, task)
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        worker.busy = false;
        this.running.delete(done);
        this.idle.push(worker);
        this.startPrefetched();
        this.wake();
      });
    this.running.add(done);
  }
}
