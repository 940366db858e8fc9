import type { RunSummary } from '../../observe/summary.ts';
import { cancelJob, pauseJob, resumeJob } from '../../run/jobControl.ts';
import type { Store } from '../../store/index.ts';
import { onePositional, parse } from '../args.ts';
import { databaseFlagSpecs, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { printJson } from '../output.ts';

const flags = {
  ...databaseFlagSpecs,
  json: { type: 'boolean' },
} as const;

const options = '[--database-url URL] [--state-url URL] [--json]';
export const pauseUsage = `sluice pause <job-name> ${options}`;
export const resumeUsage = `sluice resume <job-name> ${options}`;
export const cancelUsage = `sluice cancel <job-name> ${options}`;

type Action = (store: Store, name: string) => ReturnType<typeof pauseJob>;

/** What each command did, in one line: [when it changed the job, when it already was so]. */
const lines: Record<string, (job: string) => [string, string]> = {
  paused: (job) => [
    `Paused ${job}: running tasks finish and no new ones start; \`sluice resume ${job}\` lets it go on`,
    `${job} is already paused; \`sluice resume ${job}\` lets it go on`,
  ],
  running: (job) => [
    `Resumed ${job}; run it again (\`sluice run <job.ts>\`) to carry on`,
    `${job} is already running`,
  ],
  cancelled: (job) => [
    `Cancelled ${job}: running tasks are aborted; the reports of finished tasks are kept`,
    `${job} is already cancelled`,
  ],
};

function command(action: Action, usage: string) {
  return async (argv: string[]): Promise<number> => {
    const { values, positionals } = parse(argv, flags, usage);
    const name = onePositional(positionals, 'the job name', usage);
    const dbs = await openDatabases(values);
    try {
      const result = await action(dbs.store, name);
      if (values.json) printJson(result);
      else console.log((lines[result.status]?.(name) ?? ['', ''])[result.changed ? 0 : 1]);
      return exitCodes.ok;
    } finally {
      await dbs.close();
    }
  };
}

/** `sluice pause <job>`: workers everywhere finish their running tasks and claim no more. */
export const pauseCommand = command((store, name) => pauseJob(store, name), pauseUsage);
/** `sluice resume <job>`: a paused job may be claimed again. */
export const resumeCommand = command(resumeJob, resumeUsage);
/** `sluice cancel <job>`: running tasks are aborted; the job ends `cancelled`. */
export const cancelCommand = command((store, name) => cancelJob(store, name), cancelUsage);

/** The line that says why a run stopped short, and how to go on; undefined when it did not. */
export function stoppedLine(summary: RunSummary): string | undefined {
  const { job, reason } = summary;
  const why = reason ? ` (${reason})` : '';
  if (summary.status === 'paused')
    return `Job ${job} is paused${why}; \`sluice resume ${job}\` then run it again, or run with --resume`;
  if (summary.status === 'cancelled')
    return `Job ${job} was cancelled${why}; the reports of finished tasks are kept; --rerun runs it afresh`;
  if (summary.status === 'failed' && summary.stoppedBy)
    return `Job ${job} failed: ${reason ?? summary.stoppedBy}; \`sluice resume ${job}\` then run it again to go on`;
  return undefined;
}

/** The exit code of a run that stopped short: by the alert, a cancel, a pause or the deadline. */
export function stoppedExitCode(summary: RunSummary): number | undefined {
  if (summary.stoppedBy === 'alert' && (summary.status === 'paused' || summary.status === 'failed'))
    return exitCodes.alert;
  if (summary.status === 'cancelled') return exitCodes.cancelled;
  if (summary.status === 'paused') return exitCodes.paused;
  if (summary.status === 'failed' && summary.stoppedBy === 'deadline') return exitCodes.deadline;
  return undefined;
}
