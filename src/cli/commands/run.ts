import { resolve } from 'node:path';
import type { Command } from 'commander';
import { expected, InputError } from '../../errors.ts';
import { loadJob } from '../../job/loadJob.ts';
import type { Job } from '../../job/types.ts';
import { maxJobParallelism } from '../../limit/validate.ts';
import { Events } from '../../observe/events.ts';
import { count } from '../../observe/format.ts';
import { reportRunOnStderr, writeStderr } from '../../observe/log/stderr.ts';
import type { Metrics } from '../../observe/metrics/createMetrics.ts';
import { type MetricsServer, startMetricsServer } from '../../observe/metrics/server.ts';
import { type RunSummary, summaryLine } from '../../observe/summary.ts';
import { runJob } from '../../run/runJob.ts';
import { smokeTest } from '../../run/smoke.ts';
import { manifestLine, writeManifest } from '../../sink/jsonlManifest.ts';
import type { Store } from '../../store/index.ts';
import { isDatabaseGone } from '../../store/reconnect.ts';
import { redactSecrets } from '../../store/redact.ts';
import { wholeFlag } from '../args.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { type ExecutorFlags, withExecutorFlags } from '../executorFlags.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, executorFlags, jsonRun, withFlags } from '../flags.ts';
import { defaultGraceSeconds, handleInterrupts } from '../interrupts.ts';
import { type LimitFlags, withLimitFlags } from '../limitFlags.ts';
import { checkWritable, printJson } from '../output.ts';
import type { Act } from '../program.ts';
import { stoppedExitCode, stoppedLine } from './control.ts';

export interface RunFlags extends DatabaseFlags, ExecutorFlags, LimitFlags {
  maxParallelism?: string;
  concurrency?: string;
  out?: string;
  rerun?: boolean;
  resume?: boolean;
  smoke?: boolean;
  json?: boolean;
  detach?: boolean;
  grace?: string;
  reconnectFor?: string;
  metricsPort?: string;
  metricsHost?: string;
}

/** Adds `sluice run <job.ts>` to the program. */
export function defineRun(program: Command, act: Act): void {
  const command = program
    .command('run')
    .description('plans the job, or resumes it if unfinished, and follows it to the end')
    .argument('<job.ts>', 'the job module to run');
  withFlags(
    command,
    'sluice run job.ts',
    [
      ...databaseFlags,
      'max-parallelism',
      'concurrency',
      'rate-limit',
      'pacing',
      ...executorFlags,
      'out',
      'rerun',
      'resume',
      'smoke',
      'detach',
      'grace',
      'reconnect-for',
      'metrics-port',
      'metrics-host',
      'json',
    ],
    { json: jsonRun },
  ).action(act(runCommand));
}

/** `sluice run <job.ts>`: plans or resumes the job and follows it to the end. */
async function runCommand(path: string, values: RunFlags): Promise<number> {
  const maxParallelism = wholeFlag('max-parallelism', values.maxParallelism, 1, maxJobParallelism);
  const concurrency = wholeFlag('concurrency', values.concurrency, 1);
  const grace = wholeFlag('grace', values.grace, 0);
  const reconnectFor = wholeFlag('reconnect-for', values.reconnectFor, 0);
  if (values.detach && values.smoke) {
    throw new InputError('--detach and --smoke cannot be combined');
  }
  const metricsAt = metricsFlags(values);
  if (metricsAt && (values.detach || values.smoke)) {
    throw new InputError(
      '--metrics-port serves the metrics of a run: --detach and --smoke run none',
    );
  }
  if (values.out !== undefined) await checkWritable(values.out);
  const job = withExecutorFlags(withLimitFlags(await loadJob(path), values), values);
  const dbs = await openDatabases(values, {
    // Tasks this process runs at once: --concurrency, else the cap.
    concurrency: concurrency ?? maxParallelism ?? job.maxParallelism,
  });
  let metrics: MetricsServer | undefined;
  try {
    if (values.smoke) return await smoke(job, dbs.sourceUrl, values.json ?? false);
    if (values.detach) {
      return await detach(job, path, dbs.store, dbs.sourceUrl, { ...values, maxParallelism });
    }
    metrics = await serveMetrics(metricsAt, dbs.store);
    return await follow(job, dbs.store, dbs.sourceUrl, {
      json: values.json ?? false,
      rerun: values.rerun ?? false,
      resume: values.resume ?? false,
      out: values.out,
      maxParallelism,
      concurrency,
      grace,
      reconnectForMs: reconnectFor === undefined ? undefined : reconnectFor * 1000,
      module: resolve(path),
      metrics: metrics?.metrics,
    });
  } finally {
    await metrics?.close();
    // Bookkeeping for `sluice dlq replay <job-name>`, once the job row exists; it must not hide
    // the run's own error.
    await dbs.store.setJobModule(job.name, resolve(path)).catch(() => {});
    await dbs.close();
  }
}

/** `--detach`: plans (or finds) the job, says how to follow it, and leaves the work to workers. */
async function detach(
  job: Job,
  path: string,
  store: Store,
  sourceUrl: string,
  values: { rerun?: boolean; json?: boolean; maxParallelism?: number },
): Promise<number> {
  const summary = await runJob(job, {
    sourceUrl,
    store,
    detach: true,
    rerun: values.rerun ?? false,
    maxParallelism: values.maxParallelism,
  });
  if (values.json) printJson(summary);
  else if (summary.alreadyFinished) printSummary(summary, false);
  else {
    console.log(
      `Job ${job.name} is planned: ${count(summary.tasks.total)} ${job.source.taskNoun}, ${count(summary.total)} ${summary.unit}`,
    );
    console.log(
      `Add workers with \`sluice worker ${path}\`, and follow it with \`sluice wait ${job.name}\``,
    );
  }
  return summary.alreadyFinished ? exitCodeOf(summary) : exitCodes.ok;
}

async function smoke(job: Job, sourceUrl: string, json: boolean): Promise<number> {
  let result: Awaited<ReturnType<typeof smokeTest>>;
  try {
    result = await smokeTest(job, sourceUrl);
  } catch (error) {
    // The job's own code threw: the smoke test did its work by finding that, and sluice is fine.
    if (error instanceof InputError || isDatabaseGone(error) || !(error instanceof Error))
      throw error;
    writeStderr(`sluice: smoke test failed: ${redactSecrets(error.stack ?? error.message)}`, {
      job: job.name,
      event: 'smoke:failed',
      level: 'error',
    });
    return exitCodes.tasksFailed;
  }
  // A chunk whose items failed did not pass, though the task itself returned.
  const outcomes = job.source.outcomes && Array.isArray(result.report) ? result.report : [];
  const failed = outcomes.filter((o: { ok?: unknown }) => o.ok === false) as { error?: string }[];
  const seconds = (result.elapsedMs / 1000).toFixed(1);
  if (json) printJson({ job: job.name, smoke: true, ...result });
  else if (result.input === undefined) {
    const stream = job.source.feed !== undefined;
    console.log(
      `Smoke test of ${job.name}: ${stream ? 'nothing to test: its stream plans no task up front' : 'the plan is empty'}`,
    );
  } else {
    console.log(`Smoke test of ${job.name}: first task ${JSON.stringify(result.input)}`);
    console.log(JSON.stringify(result.report, null, 2));
    console.log(
      failed.length > 0
        ? `Smoke test failed in ${seconds}s: ${failed.length} of ${outcomes.length} items failed (first: ${failed[0]?.error}); nothing was recorded`
        : `Smoke test passed in ${seconds}s; nothing was recorded`,
    );
  }
  return failed.length > 0 ? exitCodes.tasksFailed : exitCodes.ok;
}

export interface FollowOptions {
  json: boolean;
  /** A JSONL file that receives every item outcome as it lands. */
  out?: string;
  /** Append to `out` even when the job is planned afresh (retries). */
  appendOut?: boolean;
  rerun?: boolean;
  /** Resume the job first if it is paused. */
  resume?: boolean;
  maxParallelism?: number;
  concurrency?: number;
  /** Seconds running tasks get to finish after SIGINT/SIGTERM before they are aborted. */
  grace?: number;
  /** How long to wait for a database that went away mid-run; default runJob's. */
  reconnectForMs?: number;
  /** The job module's path, recorded as soon as the job is planned so `sluice worker --all` can load it. */
  module?: string;
  /** Metrics that count what this run does (`--metrics-port`). */
  metrics?: Metrics;
}

/** Runs the job with progress on stderr and the summary (or --json) on stdout. */
export async function follow(
  job: Job,
  store: Store,
  sourceUrl: string,
  options: FollowOptions,
): Promise<number> {
  const events = new Events();
  const interrupts = handleInterrupts(events, options.grace ?? defaultGraceSeconds);
  const { module } = options;
  const stopRecording = module
    ? events.on('job:planned', () => void store.setJobModule(job.name, module).catch(() => {}))
    : undefined;
  const stopProgress = reportRunOnStderr(events, {
    job: job.name,
    live: process.stderr.isTTY === true && !options.json,
    taskNoun: job.source.taskNoun,
  });
  const stopMetrics = options.metrics?.watch(events, job.name);
  const closeManifest = options.out
    ? writeManifest(events, options.out, job.name, options.appendOut ?? false)
    : undefined;
  // With --json, outcomes stream to stdout as they finish (Burla's generator=True).
  const stopStreaming = options.json
    ? events.on('task:outcomes', ({ seq, outcomes }) => {
        for (const o of outcomes) process.stdout.write(`${manifestLine(job.name, seq, o)}\n`);
      })
    : undefined;
  let summary: RunSummary;
  try {
    summary = await runJob(job, {
      sourceUrl,
      store,
      events,
      rerun: options.rerun,
      resume: options.resume,
      maxParallelism: options.maxParallelism,
      concurrency: options.concurrency,
      stop: interrupts.stop,
      abort: interrupts.abort,
      reconnectForMs: options.reconnectForMs,
    });
  } finally {
    stopRecording?.();
    stopProgress();
    stopMetrics?.();
    stopStreaming?.();
    interrupts.dispose();
    await closeManifest?.();
  }
  printSummary(summary, options.json);
  return exitCodeOf(summary);
}

export function printSummary(summary: RunSummary, json: boolean): void {
  if (json) {
    printJson(summary);
    return;
  }
  const stopped = stoppedLine(summary);
  if (stopped) console.log(stopped);
  else if (summary.alreadyFinished) {
    console.log(
      `Job ${summary.job} already finished (${summary.status}); run with --rerun to run it again`,
    );
  }
  if (summary.result !== undefined && summary.result !== null) {
    console.log(JSON.stringify(summary.result, null, 2));
  }
  console.log(summaryLine(summary));
}

/** `--metrics-port` and `--metrics-host`, checked before anything opens; undefined without a port. */
export function metricsFlags(values: {
  metricsPort?: string;
  metricsHost?: string;
}): { port: number; host?: string } | undefined {
  const port = wholeFlag('metrics-port', values.metricsPort, 0);
  if (port !== undefined && port > 65_535) {
    throw expected('--metrics-port', 'a port from 0 to 65535', values.metricsPort);
  }
  if (port === undefined && values.metricsHost !== undefined) {
    throw new InputError('--metrics-host needs --metrics-port');
  }
  return port === undefined ? undefined : { port, host: values.metricsHost };
}

/** Serves `/metrics` while the command runs, and says where on stderr. */
export async function serveMetrics(
  at: { port: number; host?: string } | undefined,
  store: Store,
): Promise<MetricsServer | undefined> {
  if (!at) return undefined;
  const server = await startMetricsServer({ ...at, store });
  writeStderr(`Metrics at ${server.url}`, { job: null, event: 'metrics:serving', url: server.url });
  return server;
}

export function exitCodeOf(summary: RunSummary): number {
  const stopped = stoppedExitCode(summary);
  if (stopped !== undefined) return stopped;
  if (summary.status === 'interrupted') return exitCodes.interrupted;
  return summary.status === 'failed' ? exitCodes.tasksFailed : exitCodes.ok;
}
