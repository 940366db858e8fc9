import { loadJob } from '../../job/loadJob.ts';
import type { Job } from '../../job/types.ts';
import { Events } from '../../observe/events.ts';
import { showProgress } from '../../observe/progress.ts';
import { type RunSummary, summaryLine } from '../../observe/summary.ts';
import { runJob } from '../../run/runJob.ts';
import { smokeTest } from '../../run/smoke.ts';
import { manifestLine, writeManifest } from '../../sink/jsonlManifest.ts';
import type { Store } from '../../store/index.ts';
import { onePositional, parse, wholeFlag } from '../args.ts';
import { openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { handleInterrupts } from '../interrupts.ts';
import { withLimitFlags } from '../limitFlags.ts';
import { checkWritable, printJson } from '../output.ts';

export const runUsage =
  'sluice run <job.ts> [--database-url URL] [--state-url URL] [--max-parallelism N] [--concurrency N] [--rate-limit 900/s] [--pacing 500+250] [--out results.jsonl] [--rerun] [--smoke] [--json]';

const flags = {
  'database-url': { type: 'string' },
  'state-url': { type: 'string' },
  'max-parallelism': { type: 'string' },
  concurrency: { type: 'string' },
  'rate-limit': { type: 'string' },
  pacing: { type: 'string' },
  out: { type: 'string' },
  rerun: { type: 'boolean' },
  smoke: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** `sluice run <job.ts>`: plans or resumes the job and follows it to the end. */
export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, flags, runUsage);
  const path = onePositional(positionals, 'the job module to run', runUsage);
  const maxParallelism = wholeFlag('max-parallelism', values['max-parallelism'], 1);
  const concurrency = wholeFlag('concurrency', values.concurrency, 1);
  if (values.out !== undefined) await checkWritable(values.out);
  const job = withLimitFlags(await loadJob(path), values);
  const dbs = await openDatabases(values);
  try {
    if (values.smoke) return await smoke(job, dbs.sourceUrl, values.json ?? false);
    return await follow(job, dbs.store, dbs.sourceUrl, {
      json: values.json ?? false,
      rerun: values.rerun ?? false,
      out: values.out,
      maxParallelism,
      concurrency,
    });
  } finally {
    await dbs.close();
  }
}

async function smoke(job: Job, sourceUrl: string, json: boolean): Promise<number> {
  const result = await smokeTest(job, sourceUrl);
  if (json) printJson({ job: job.name, smoke: true, ...result });
  else if (result.input === undefined) console.log(`Smoke test of ${job.name}: the plan is empty`);
  else {
    console.log(`Smoke test of ${job.name}: first task ${JSON.stringify(result.input)}`);
    console.log(JSON.stringify(result.report, null, 2));
    console.log(
      `Smoke test passed in ${(result.elapsedMs / 1000).toFixed(1)}s; nothing was recorded`,
    );
  }
  return exitCodes.ok;
}

export interface FollowOptions {
  json: boolean;
  /** A JSONL file that receives every item outcome as it lands. */
  out?: string;
  /** Append to `out` even when the job is planned afresh (retries). */
  appendOut?: boolean;
  rerun?: boolean;
  maxParallelism?: number;
  concurrency?: number;
}

/** Runs the job with progress on stderr and the summary (or --json) on stdout. */
export async function follow(
  job: Job,
  store: Store,
  sourceUrl: string,
  options: FollowOptions,
): Promise<number> {
  const events = new Events();
  const interrupts = handleInterrupts(events);
  const stopProgress = showProgress(events, {
    stream: process.stderr,
    live: process.stderr.isTTY === true && !options.json,
    taskNoun: job.source.taskNoun,
  });
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
      maxParallelism: options.maxParallelism,
      concurrency: options.concurrency,
      stop: interrupts.stop,
      abort: interrupts.abort,
    });
  } finally {
    stopProgress();
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
  if (summary.alreadyFinished) {
    console.log(
      `Job ${summary.job} already finished (${summary.status}); run with --rerun to run it again`,
    );
  }
  if (summary.result !== undefined && summary.result !== null) {
    console.log(JSON.stringify(summary.result, null, 2));
  }
  console.log(summaryLine(summary));
}

function exitCodeOf(summary: RunSummary): number {
  if (summary.status === 'interrupted') return exitCodes.interrupted;
  return summary.status === 'failed' ? exitCodes.tasksFailed : exitCodes.ok;
}
