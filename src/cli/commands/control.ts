import type { Command } from 'commander';
import type { RunSummary } from '../../observe/summary.ts';
import { cancelJob, pauseJob, resumeJob } from '../../run/jobControl.ts';
import type { Store } from '../../store/index.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, withFlags } from '../flags.ts';
import { printJson } from '../output.ts';
import type { Act } from '../program.ts';

interface ControlFlags extends DatabaseFlags {
  json?: boolean;
}

type Action = (store: Store, name: string) => ReturnType<typeof pauseJob>;

/** Adds `sluice pause`, `resume` and `cancel` to the program. */
export function defineControl(program: Command, act: Act): void {
  const commands: [string, string, Action][] = [
    [
      'pause',
      'workers everywhere claim no more and start no new item; running chunks save their place',
      (store, name) => pauseJob(store, name),
    ],
    ['resume', 'a paused job (or one failed by its alert or deadline) may run again', resumeJob],
    [
      'cancel',
      "aborts the job's running tasks; it ends `cancelled`, finished reports kept",
      (store, name) => cancelJob(store, name),
    ],
  ];
  for (const [name, description, action] of commands) {
    const command = program
      .command(name)
      .description(description)
      .argument('<job-name>', 'the name of the job');
    withFlags(command, `sluice ${name} backfill`, [...databaseFlags, 'json']).action(
      act(control(action)),
    );
  }
}

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

function control(action: Action) {
  return async (name: string, values: ControlFlags): Promise<number> => {
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
