import { type ChildProcess, fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { SluiceError } from '../../errors.ts';
import type { Permit } from '../../limit/types.ts';
import { type FromWorker, fromWire, type InitMessage, type ToWorker, toWire } from './protocol.ts';
import type { TaskCall } from './types.ts';
import type { WorkerBoot } from './workerBundle.ts';

export type WorkerKind = 'thread' | 'process';

export interface RemoteWorkerOptions {
  kind: WorkerKind;
  init: InitMessage;
  /** V8 heap limit of the worker, in MB. */
  funcRamMb?: number;
  /** How long an aborted task or a stopping worker may take before the worker is killed. */
  graceMs: number;
  /** A task's item was throttled: the executor relays the pause to every worker. */
  onPause?(untilMs: number): void;
  /** The latest pause the executor knows of, sent with each task. */
  pausedUntil?(): number;
  /** The file workers start from, built once for all of them (workerBundle.ts). */
  boot(): Promise<WorkerBoot>;
}

interface Running {
  call: TaskCall;
  resolve(value: unknown): void;
  reject(error: Error): void;
  permits: Map<number, Permit>;
  dispose(): void;
}

/** The coordinator's side of one worker thread or child process. */
export class RemoteWorker {
  /** Resolves, with the reason, once the worker has ended. */
  readonly exited: Promise<Error>;
  private readonly tasks = new Map<number, Running>();
  private readonly ready: Promise<void>;
  private readonly thread?: Worker;
  private readonly child?: ChildProcess;
  private ended?: Error;
  private nextTask = 0;
  private nextPermit = 0;
  private markReady: () => void = () => {};
  private failStart: (error: Error) => void = () => {};
  private markExited: (reason: Error) => void = () => {};

  /** Starts a worker and waits until it has loaded the job module. */
  static async start(options: RemoteWorkerOptions): Promise<RemoteWorker> {
    const worker = new RemoteWorker(options, await options.boot());
    await worker.ready;
    return worker;
  }

  private constructor(
    private readonly o: RemoteWorkerOptions,
    boot: WorkerBoot,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.failStart = reject;
    });
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.markExited = resolve;
    });
    const limit = o.funcRamMb;
    if (o.kind === 'thread') {
      let failure: Error | undefined;
      const thread = new Worker(boot.file, {
        argv: boot.args,
        resourceLimits: limit ? { maxOldGenerationSizeMb: limit } : undefined,
      });
      thread.on('message', (message: FromWorker) => this.onMessage(message));
      thread.on('error', (error: Error & { code?: string }) => {
        failure =
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? outOfMemory(limit)
            : new SluiceError(`worker thread failed: ${error.message}`);
      });
      thread.on('exit', (code) =>
        this.onExit(failure ?? new SluiceError(`worker thread exited with code ${code}`)),
      );
      this.thread = thread;
    } else {
      const child = fork(boot.file, boot.args, {
        execArgv: limit ? [`--max-old-space-size=${limit}`] : [],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      });
      // The child's stderr passes through, but for V8's dump when it runs out of memory: the
      // task's error says so in one line.
      let tail = '';
      let dying = false;
      child.stderr?.on('data', (chunk: Buffer) => {
        tail = (tail + chunk.toString()).slice(-2000);
        dying ||= /<--- Last few GCs|FATAL ERROR:/.test(tail);
        if (!dying) process.stderr.write(chunk);
      });
      child.on('message', (message: FromWorker) => this.onMessage(message));
      child.on('error', (error) =>
        this.onExit(new SluiceError(`worker process: ${error.message}`)),
      );
      child.on('close', (code, signal) =>
        this.onExit(
          /heap out of memory|heap limit/i.test(tail)
            ? outOfMemory(limit)
            : new SluiceError(
                `worker process exited with ${signal ? `signal ${signal}` : `code ${code}`}`,
              ),
        ),
      );
      this.child = child;
    }
    this.post(o.init);
  }

  get alive(): boolean {
    return this.ended === undefined;
  }

  /** Runs one task on the worker; a worker that dies fails the task with the reason. */
  async run(call: TaskCall): Promise<unknown> {
    // Read inside the executor's run, so a failed read still frees the task's room.
    const graph = await call.graph;
    if (this.ended) throw this.ended;
    const taskId = ++this.nextTask;
    const { ctx } = call;
    return new Promise((resolve, reject) => {
      let grace: NodeJS.Timeout | undefined;
      // The task ignores its signal? Past the grace, the worker is killed to free its slot.
      const onAbort = () => {
        this.post({ type: 'abort', taskId });
        grace = setTimeout(() => this.kill(), this.o.graceMs);
        grace.unref();
      };
      // A pause of the rate limiter (this process's or another's) reaches this worker at once,
      // so a permit already on its way there is dropped rather than used during the pause.
      const unwatch = call.limits.watchPauses?.((untilMs) => this.pause(untilMs));
      const onStop = () => this.post({ type: 'halt', taskId });
      const dispose = () => {
        unwatch?.();
        call.stop?.removeEventListener('abort', onStop);
        ctx.signal.removeEventListener('abort', onAbort);
        clearTimeout(grace);
        this.tasks.delete(taskId);
      };
      this.tasks.set(taskId, { call, resolve, reject, permits: new Map(), dispose });
      this.post({
        type: 'task',
        taskId,
        payload: call.payload,
        attempt: ctx.attempt,
        index: ctx.index,
        resumeFrom: ctx.resumeFrom,
        maxParallelism: call.maxParallelism,
        graph,
        pausedUntil: this.o.pausedUntil?.() ?? 0,
      });
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      if (call.stop?.aborted) onStop();
      else call.stop?.addEventListener('abort', onStop, { once: true });
    });
  }

  /** The poison pill: the worker finishes its tasks and exits; past the grace it is killed. */
  async stop(): Promise<void> {
    if (this.ended) return;
    this.post({ type: 'stop' });
    const timer = setTimeout(() => this.kill(), this.o.graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Tells the worker to hold its items until `untilMs` (a 429 seen elsewhere). */
  pause(untilMs: number): void {
    this.post({ type: 'pause', untilMs });
  }

  kill(): void {
    if (this.ended) return;
    if (this.child) this.child.kill('SIGKILL');
    else void this.thread?.terminate();
  }

  private post(message: ToWorker): void {
    if (this.ended) return;
    try {
      if (this.child) this.child.send(message);
      else this.thread?.postMessage(message);
    } catch {
      // The worker is going away; its exit fails what it was running.
    }
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'ready') this.markReady();
    else if (message.type === 'fatal') this.failStart(fromWire(message.error));
    else {
      const task = this.tasks.get(message.taskId);
      if (task) this.forTask(task, message);
    }
  }

  private forTask(task: Running, message: Exclude<FromWorker, { type: 'ready' | 'fatal' }>): void {
    const { ctx, limits } = task.call;
    switch (message.type) {
      case 'result':
        task.dispose();
        task.resolve(message.value);
        break;
      case 'error':
        if (message.input !== undefined) task.call.input = message.input;
        task.dispose();
        task.reject(fromWire(message.error));
        break;
      case 'log':
        ctx.log[message.level](message.message);
        break;
      case 'items':
        task.call.onItems?.(message.done, message.failed);
        break;
      case 'request':
        void this.answer(message.requestId, () =>
          message.call === 'checkpoint'
            ? ctx.checkpoint(message.cursor)
            : this.acquire(task, message.cost),
        );
        break;
      case 'settle':
        task.permits.get(message.permitId)?.settle(message.actual);
        break;
      case 'pause':
        limits.pauseAll(message.untilMs);
        this.o.onPause?.(message.untilMs);
        break;
      case 'adaptive': {
        const { type: _type, taskId: _taskId, ...signal } = message;
        limits.adaptive?.record(signal);
      }
    }
  }

  private async acquire(task: Running, cost: number) {
    const permit = await task.call.limits.acquire(cost, task.call.ctx.signal);
    if (!permit) return null;
    const permitId = ++this.nextPermit;
    task.permits.set(permitId, permit);
    return { permitId, cost: permit.cost };
  }

  private async answer(requestId: number, work: () => Promise<unknown>) {
    try {
      this.post({ type: 'reply', requestId, value: await work() });
    } catch (error) {
      this.post({ type: 'reply', requestId, error: toWire(error) });
    }
  }

  private onExit(reason: Error): void {
    if (this.ended) return;
    this.ended = reason;
    this.failStart(reason);
    for (const task of [...this.tasks.values()]) {
      task.dispose();
      task.reject(reason);
    }
    this.markExited(reason);
  }
}

/**
 * The options for the workers of one executor, with a 429 seen in one of them relayed to all:
 * the latest pause goes to every live worker and with each task.
 */
export function relayingPauses(
  worker: RemoteWorkerOptions,
  live: () => Iterable<RemoteWorker | undefined>,
): RemoteWorkerOptions {
  let pausedUntil = 0;
  return {
    ...worker,
    pausedUntil: () => pausedUntil,
    onPause(untilMs) {
      pausedUntil = Math.max(pausedUntil, untilMs);
      for (const running of live()) running?.pause(pausedUntil);
    },
  };
}

function outOfMemory(limitMb: number | undefined): SluiceError {
  return new SluiceError(
    limitMb ? `out of memory (limit ${limitMb} MB)` : 'out of memory (the default heap limit)',
  );
}
