import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { loadJob } from '../../job/loadJob.ts';
import type { Job } from '../../job/types.ts';
import { Events } from '../../observe/events.ts';
import { reportRunOnStderr, stderrJsonLogger, writeStderr } from '../../observe/log/stderr.ts';
import type { Metrics } from '../../observe/metrics/createMetrics.ts';
import type { MetricsServer } from '../../observe/metrics/server.ts';
import { joinJob } from '../../run/joinJob.ts';
import { outlastOutages } from '../../run/outages.ts';
import type { JobRow, Store } from '../../store/index.ts';
import { wholeFlag } from '../args.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { type ExecutorFlags, withExecutorFlags } from '../executorFlags.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, executorFlags, jsonRun, withFlags } from '../flags.ts';
import { defaultGraceSeconds, handleInterrupts } from '../interrupts.ts';
import type { Act } from '../program.ts';
import { exitCodeOf, metricsFlags, printSummary, serveMetrics } from './run.ts';

interface WorkerFlags extends DatabaseFlags, ExecutorFlags {
  concurrency?: string;
  grace?: string;
  reconnectFor?: string;
  exitWhenDone?: boolean;
  once?: boolean;
  all?: boolean;
  json?: boolean;
  metricsPort?: string;
  metricsHost?: string;
}

/** Adds `sluice worker <job.ts...> | --all` to the program. */
export function defineWorker(program: Command, act: Act): void {
  const command = program
    .command('worker')
    .description('joins planned, unfinished jobs (never plans), and waits for them')
    .argument('[job.ts...]', 'the job modules to work on');
  withFlags(
    command,
    'sluice worker job.ts',
    [
      'all',
      'exit-when-done',
      'once',
      'concurrency',
      'grace',
      'reconnect-for',
      'metrics-port',
      'metrics-host',
      ...executorFlags,
      ...databaseFlags,
      'json',
    ],
    {
      all: { command: 'sluice worker' },
      executor: { help: 'where tasks run on this host (job modules only: --all keeps each mode)' },
      json: jsonRun,
    },
  ).action(act(workerCommand));
}

/** How often `--all` looks for newly planned jobs. */
const allPollMs = 1000;

interface WorkerSettings {
  store: Store;
  sourceUrl: string;
  concurrency?: number;
  exitWhenDone: boolean;
  json: boolean;
  /** How long to wait for a database that went away; default runJob's. */
  reconnectForMs?: number;
  stop: AbortSignal;
  abort: AbortSignal;
  /** Fans an interrupt out to every job's progress output. */
  interruptEvents: Events;
  /** Counts what each job's runs do here (`--metrics-port`). */
  metrics?: Metrics;
}

/**
 * `sluice worker <job.ts...>`: a long-lived process that joins the named jobs whenever they are
 * planned and unfinished, runs their tasks under their global caps alongside every other process,
 * and waits for the next run when they finish. It never plans: `sluice run` (or `--detach`) does.
 */
async function workerCommand(positionals: string[], values: WorkerFlags): Promise<number> {
  if (positionals.length === 0 && !values.all) {
    throw new InputError(
      'Missing the job module(s) to work on, or --all; `sluice worker --help` says more',
    );
  }
  if (positionals.length > 0 && values.all) {
    throw new InputError('Give job modules or --all, not both');
  }
  const concurrency = wholeFlag('concurrency', values.concurrency, 1);
  const metricsAt = metricsFlags(values);
  const grace = wholeFlag('grace', values.grace, 0) ?? defaultGraceSeconds;
  const reconnectFor = wholeFlag('reconnect-for', values.reconnectFor, 0);
  const executorFlagGiven = ['executor', 'parallelism', 'funcRamMb', 'funcCpu'].some(
    (flag) => flag in values,
  );
  if (values.all && executorFlagGiven) {
    throw new InputError(
      `--executor, --parallelism, --func-ram-mb and --func-cpu apply to named job modules; with --all each job runs in its own mode`,
    );
  }
  // Each host picks how it runs the work: a big machine can run a job in threads, a small one not.
  const jobs = await Promise.all(
    positionals.map(async (path) => withExecutorFlags(await loadJob(path), values)),
  );
  const names = new Set<string>();
  for (const job of jobs) {
    if (names.has(job.name)) throw new InputError(`Job \`${job.name}\` is named twice`);
    names.add(job.name);
  }
  // Without --concurrency a worker runs up to each job's stored cap: the store's larger pool.
  const dbs = await openDatabases(values, { concurrency: concurrency ?? Number.POSITIVE_INFINITY });
  const interruptEvents = new Events();
  const interrupts = handleInterrupts(interruptEvents, grace);
  let metrics: MetricsServer | undefined;
  try {
    metrics = await serveMetrics(metricsAt, dbs.store);
    const settings: WorkerSettings = {
      store: dbs.store,
      sourceUrl: dbs.sourceUrl,
      concurrency,
      exitWhenDone: (values.exitWhenDone ?? false) || (values.once ?? false),
      json: values.json ?? false,
      reconnectForMs: reconnectFor === undefined ? undefined : reconnectFor * 1000,
      stop: interrupts.stop,
      abort: interrupts.abort,
      interruptEvents,
      metrics: metrics?.metrics,
    };
    const codes = values.all
      ? await workOnAll(settings)
      : await Promise.all(jobs.map((job) => workOn(job, settings)));
    if (interrupts.stop.aborted) return exitCodes.interrupted;
    return Math.max(exitCodes.ok, ...codes);
  } finally {
    await metrics?.close();
    interrupts.dispose();
    await dbs.close();
  }
}

/**
 * Joins one job run after run, until stopped (or, with --exit-when-done, until it is finished).
 * `oneRun` returns after one run: `--all` joins the job again when a rerun plans it.
 */
async function workOn(job: Job, s: WorkerSettings, oneRun = false): Promise<number> {
  for (;;) {
    const events = new Events();
    const forward = s.interruptEvents.on('job:stopping', (e) => events.emit('job:stopping', e));
    const stopProgress = reportRunOnStderr(events, {
      job: job.name,
      live: process.stderr.isTTY === true && !s.json,
      taskNoun: job.source.taskNoun,
    });
    const stopMetrics = s.metrics?.watch(events, job.name);
    // A completion after the claim was lost (a partition, a pause past the lease) is refused by
    // the store; say so, since the work it did is thrown away.
    const stale = events.on('task:done', ({ seq, accepted }) => {
      // JSON logs say it as `task:done` (logEvents).
      if (!accepted && !stderrJsonLogger()) {
        process.stderr.write(
          `sluice: ${job.name} task ${seq} finished after another worker took it over; its result was refused\n`,
        );
      }
    });
    let summary: Awaited<ReturnType<typeof joinJob>>;
    try {
      summary = await joinJob(job, {
        sourceUrl: s.sourceUrl,
        store: s.store,
        events,
        concurrency: s.concurrency,
        stop: s.stop,
        abort: s.abort,
        reconnectForMs: s.reconnectForMs,
        // For one run, a job that another worker finished since it was listed ends it at once.
        acceptFinished: s.exitWhenDone || oneRun,
      });
    } finally {
      forward();
      stale();
      stopProgress();
      stopMetrics?.();
    }
    if (!summary) return exitCodes.interrupted;
    // A worker that found the job already finished has nothing of its own to report.
    if (!summary.alreadyFinished || s.exitWhenDone) printSummary(summary, s.json);
    const code = exitCodeOf(summary);
    if (s.exitWhenDone || oneRun || code === exitCodes.interrupted) return code;
  }
}

/** A job row with the module `sluice run` recorded for it: what `--all` can load. */
type RecordedJob = JobRow & { module: string };

/**
 * `--all`: every unfinished job whose module `sluice run` recorded, as they appear. A job that
 * cannot run here is reported once and skipped: its module will not load (another path on this
 * host, a syntax error), or the module now defines another job (which is still joined, under its
 * own name). Each job is joined for one run; a rerun is joined again when the list shows it. With
 * --exit-when-done it returns once every job it can join is finished; a skipped job still
 * unfinished then is named, and makes the exit code 2 rather than 0.
 */
async function workOnAll(s: WorkerSettings): Promise<number[]> {
  const working = new Map<string, Promise<number>>();
  const codes: number[] = [];
  // Nothing from a module that will not load can run, so it is skipped whole.
  const brokenModules = new Set<string>();
  // A module defines one job, so other jobs recorded for it are skipped one by one; by module
  // too, since a later `sluice run` of the job from another file records that one instead.
  const renamedJobs = new Map<string, string>();
  const skipped = (row: RecordedJob) =>
    brokenModules.has(row.module) || renamedJobs.get(row.name) === row.module;
  let unfinished: RecordedJob[] = [];
  let saidIdle = false;
  while (!s.stop.aborted) {
    // A job planned without `sluice run` has no module on record: --all never sees it.
    const jobs = await outlastOutages(() => s.store.listJobs(), {
      ...{ store: s.store, sourceUrl: s.sourceUrl, events: s.interruptEvents },
      ...{ reconnectForMs: s.reconnectForMs, stop: s.stop },
    });
    unfinished = jobs.filter(
      (row): row is RecordedJob => row.status === 'running' && row.module !== null,
    );
    for (const row of unfinished) {
      if (working.has(row.name) || skipped(row)) continue;
      const job = await loadJob(row.module).catch((error: Error) => {
        brokenModules.add(row.module);
        writeStderr(`sluice: skipping job ${row.name}: ${error.message}`, {
          job: row.name,
          event: 'job:skipped',
          level: 'warn',
        });
      });
      if (!job) continue;
      if (job.name !== row.name) {
        renamedJobs.set(row.name, row.module);
        writeStderr(`sluice: skipping job ${row.name}: ${row.module} now defines ${job.name}`, {
          job: row.name,
          event: 'job:skipped',
          level: 'warn',
        });
        continue;
      }
      const run = workOn(job, s, true).then((code) => {
        codes.push(code);
        working.delete(row.name);
        return code;
      });
      working.set(row.name, run);
    }
    if (s.exitWhenDone && working.size === 0 && unfinished.every(skipped)) break;
    // Say once why the worker sits idle, and again only when it went to work in between.
    const idle = working.size === 0;
    if (idle && !saidIdle) {
      writeStderr(
        unfinished.length === 0
          ? 'Waiting for a job to work on: none is planned and unfinished (`sluice run <job.ts> --detach` plans one)'
          : 'Waiting for a job to work on: every unfinished job was skipped above (`sluice run <job.ts> --detach` plans another)',
        { job: null, event: 'worker:idle' },
      );
    }
    saidIdle = idle;
    await sleep(allPollMs, undefined, { signal: s.stop }).catch(() => {});
  }
  await Promise.all(working.values());
  // Unless stopped, the loop ended on --exit-when-done with only skipped jobs unfinished.
  if (!s.stop.aborted && unfinished.length > 0) {
    const names = unfinished.map((row) => row.name).join(', ');
    writeStderr(
      `sluice: done with every job this worker can run; still unfinished, skipped above: ${names}`,
      { job: null, event: 'worker:skipped', level: 'warn' },
    );
    codes.push(exitCodes.badInput);
  }
  return codes;
}
