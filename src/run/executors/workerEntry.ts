// The code a worker thread or child process runs (bundled with the job by workerBundle.ts, or
// through boot.mjs, which registers tsx). It loads the job module by path, opens its own source
// connections, runs `setup` once per slot, and runs the tasks it is sent. Store writes and limits stay with the coordinator: a
// checkpoint, a permit or a log line is a message, answered when the coordinator has done it.
import { isMainThread, parentPort } from 'node:worker_threads';
import { SluiceError } from '../../errors.ts';
import { loadJob } from '../../job/loadJob.ts';
import type { Job, TaskContext } from '../../job/types.ts';
import type { AdaptiveCap } from '../../limit/adaptive.ts';
import { createPacer } from '../../limit/pacing.ts';
import type { Permit } from '../../limit/types.ts';
import { itemCosts } from '../../limit/validate.ts';
import { pauseOnlyLimits, permitHandle } from '../jobLimits.ts';
import { type ItemLimits, runItems } from '../runItems.ts';
import { runGraphPlace, sourceInput } from '../taskGraph.ts';
import { WorkerSlot, workerConnection } from '../workerSlot.ts';
import { exitWithCoordinator } from './coordinatorWatch.ts';
import {
  type FromWorker,
  fromWire,
  type HostRequest,
  type InitMessage,
  type TaskMessage,
  type ToWorker,
  toWire,
} from './protocol.ts';
import { refuseAnotherJob } from './sameJob.ts';

interface Loaded {
  init: InitMessage;
  job: Job;
  /** Each item's cost under the rate limit, checked once for the run. */
  cost: ItemLimits['cost'];
  free: WorkerSlot[];
  slots: WorkerSlot[];
}

const send = (message: FromWorker) =>
  isMainThread ? process.send?.(message) : parentPort?.postMessage(message);
const lifetime = new AbortController();
/** Per running task: `abort` ends it; `halt` (the job was paused) lets its chunk start no more items. */
const running = new Map<number, { abort: AbortController; halt: AbortController }>();
const requests = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
let nextRequest = 0;
let loaded: Promise<Loaded> | undefined;
let stopping = false;
/** Holds items after a 429 seen here or, relayed by the coordinator, in a sibling. */
const pauses = pauseOnlyLimits();

function onMessage(message: ToWorker): void {
  switch (message.type) {
    case 'init':
      loaded = load(message);
      loaded.then(
        () => send({ type: 'ready' }),
        (error) => send({ type: 'fatal', error: toWire(error) }),
      );
      return;
    case 'task':
      pauses.pauseAll(message.pausedUntil);
      void runTask(message);
      return;
    case 'pause':
      pauses.pauseAll(message.untilMs);
      return;
    case 'reply': {
      const pending = requests.get(message.requestId);
      requests.delete(message.requestId);
      if (message.error) pending?.reject(fromWire(message.error));
      else pending?.resolve(message.value);
      return;
    }
    case 'abort':
      running.get(message.taskId)?.abort.abort(new SluiceError('The task was aborted by the run'));
      return;
    case 'halt':
      running.get(message.taskId)?.halt.abort();
      return;
    case 'stop':
      stopping = true;
      if (running.size === 0) void shutdown();
  }
}

async function load(init: InitMessage): Promise<Loaded> {
  const module = await loadJob(init.modulePath);
  refuseAnotherJob(init.modulePath, init.expected, module);
  // Command-line overrides reach the worker with the init; the cost function stays the module's.
  const rateLimit =
    init.rateLimit && 'perMinute' in init.rateLimit
      ? { ...init.rateLimit, cost: module.rateLimit?.cost }
      : init.rateLimit;
  const job = { ...module, rateLimit, pacing: init.pacing } as Job;
  const connect = workerConnection(init.sourceUrl, job.name);
  const pacing = job.pacing;
  const slots = Array.from(
    { length: init.slots },
    () => new WorkerSlot(connect, job, lifetime.signal, pacing ? createPacer(pacing) : undefined),
  );
  return { init, job, cost: itemCosts(job.rateLimit), slots, free: [...slots] };
}

async function runTask(message: TaskMessage): Promise<void> {
  const run = await (loaded as Promise<Loaded>);
  const { job, free } = run;
  const slot = free.pop() as WorkerSlot;
  const controller = new AbortController();
  const halt = new AbortController();
  running.set(message.taskId, { abort: controller, halt });
  const items = itemReports(message.taskId);
  let input: unknown;
  try {
    const { sql, resource } = await slot.open();
    // A graph task's input depends on its place; runGraphPlace reads it.
    if (!message.graph) input = await sourceInput(job, message.payload, { sql });
    const limits = remoteLimits(run, message.taskId);
    const ctx: TaskContext = {
      sql,
      resource,
      signal: controller.signal,
      attempt: message.attempt,
      index: message.index,
      resumeFrom: message.resumeFrom,
      log: {
        info: (text) => send({ type: 'log', taskId: message.taskId, level: 'info', message: text }),
        warn: (text) => send({ type: 'log', taskId: message.taskId, level: 'warn', message: text }),
      },
      checkpoint: async (cursor) => {
        await request(message.taskId, { call: 'checkpoint', cursor }, controller.signal);
      },
      limit: permitHandle(limits, controller.signal),
    };
    const value = message.graph
      ? await runGraphPlace(job, message.graph, message.payload, ctx)
      : job.each
        ? await runItems(
            { ...job, maxParallelism: message.maxParallelism },
            input as unknown[],
            ctx,
            {
              ...itemLimits(limits),
              pacer: slot.pacer,
            },
            { onItems: items.report, stop: halt.signal },
          )
        : await (job.run as NonNullable<Job['run']>)(input, ctx);
    send({ type: 'result', taskId: message.taskId, value });
  } catch (error) {
    const loadedInput = job.source.load ? input : undefined;
    try {
      send({ type: 'error', taskId: message.taskId, error: toWire(error), input: loadedInput });
    } catch {
      send({ type: 'error', taskId: message.taskId, error: toWire(error) });
    }
  } finally {
    // Reached in the tick the result or error was sent: no count follows it.
    items.stop();
    running.delete(message.taskId);
    free.push(slot);
    if (stopping && running.size === 0) void shutdown();
  }
}

/**
 * A task's finished items, sent at most every 100 ms: a message per item could cost more than a
 * fast `each` itself. The latest counts go; the result that ends the task carries the rest.
 */
function itemReports(taskId: number) {
  let latest = { done: 0, failed: 0 };
  let timer: NodeJS.Timeout | undefined;
  return {
    report(done: number, failed: number) {
      latest = { done, failed };
      timer ??= setTimeout(() => {
        timer = undefined;
        send({ type: 'items', taskId, ...latest });
      }, 100);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The job's limits, held by the coordinator: each permit, pause and result is a message. */
function remoteLimits({ init, cost }: Loaded, taskId: number): ItemLimits {
  const acquire = async (cost: number, signal: AbortSignal): Promise<Permit | undefined> => {
    let granted: { permitId: number; cost: number } | null;
    for (;;) {
      granted = (await request(taskId, { call: 'acquire', cost }, signal)) as typeof granted;
      if (!granted) return undefined;
      // A permit granted just before a pause can arrive with the pause right behind it (this
      // worker was descheduled meanwhile): let the messages already here be handled first, and
      // drop the permit if one paused the job; a fresh one is asked for once the pause ends.
      await new Promise((done) => setImmediate(done));
      if (pauses.pausedUntil() <= Date.now()) break;
      await pauses.acquire(0, signal);
    }
    const permitId = granted.permitId;
    return {
      cost: granted.cost,
      settle: (actual) => send({ type: 'settle', taskId, permitId, actual }),
    };
  };
  const pauseAll = (untilMs: number) => {
    pauses.pauseAll(untilMs);
    send({ type: 'pause', taskId, untilMs });
  };
  const adaptive: AdaptiveCap = {
    record: (signal) => send({ type: 'adaptive', taskId, ...signal }),
    current: () => 0,
  };
  return {
    limiter: init.rateLimit
      ? {
          acquire: async (cost = 1, signal) =>
            (await acquire(cost, signal ?? lifetime.signal)) as Permit,
          pauseUntil: pauseAll,
          close() {},
        }
      : undefined,
    adaptive: init.hasAdaptive ? adaptive : undefined,
    acquire,
    cost,
    pauseAll,
  };
}

/**
 * The limits `each` runs under. Without a rate limiter an item takes no permit, only waits out a
 * pause: that wait is local (pauses reach every worker as messages), not a round trip per item.
 */
function itemLimits(limits: ItemLimits): ItemLimits {
  return limits.limiter ? limits : { ...limits, acquire: pauses.acquire };
}

function request(taskId: number, body: HostRequest, signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const requestId = ++nextRequest;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      requests.delete(requestId);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (fn: () => void) => {
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    requests.set(requestId, {
      resolve: (value) => settle(() => resolve(value)),
      reject: (error) => settle(() => reject(error)),
    });
    send({ type: 'request', taskId, requestId, ...body });
  });
}

/** After the poison pill and the last task: `teardown` per slot, the connections closed, exit. */
async function shutdown(): Promise<void> {
  const state = await loaded?.catch(() => undefined);
  if (state) {
    // Each slot closes its own connection.
    await Promise.all(state.slots.map((slot) => slot.close()));
  }
  // A job's timers or sockets must not keep the worker alive once its work is done.
  process.exit(0);
}

if (isMainThread) {
  process.on('message', onMessage);
  // Ctrl-C on a terminal reaches the whole process group. The coordinator decides what a worker
  // does then: finish its task and take the poison pill, or abort.
  process.on('SIGINT', () => {});
  exitWithCoordinator();
} else {
  parentPort?.on('message', onMessage);
}
