import { InputError } from '../../errors.ts';
import { Events } from '../../observe/events.ts';
import { showProgress } from '../../observe/progress.ts';
import { watchJob } from '../../run/watchJob.ts';
import { onePositional, parse } from '../args.ts';
import { type Databases, databaseFlagSpecs, openDatabases } from '../databases.ts';
import { exitCodeOf, printSummary } from './run.ts';

export const waitUsage = 'sluice wait <job-name> [--database-url URL] [--state-url URL] [--json]';

const flags = {
  ...databaseFlagSpecs,
  json: { type: 'boolean' },
} as const;

/**
 * `sluice wait <job-name>`: follows a job that workers run, with the progress, summary and exit
 * code of `sluice run`, and claims nothing. Ctrl-C stops watching; the job goes on.
 */
export async function waitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, flags, waitUsage);
  const name = onePositional(positionals, 'the name of the job to wait for', waitUsage);
  const json = values.json ?? false;
  // Ctrl-C stops watching only: nothing here runs a task, so there is nothing to drain or abort.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await follow(name, json, await openDatabases(values), stop.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function follow(name: string, json: boolean, dbs: Databases, stop: AbortSignal) {
  const events = new Events();
  const row = await dbs.store.findJob(name);
  const stopProgress = showProgress(events, {
    stream: process.stderr,
    live: process.stderr.isTTY === true && !json,
    taskNoun: row?.taskNoun ?? 'tasks',
    unit: row?.unit,
  });
  try {
    const summary = await watchJob(name, { store: dbs.store, events, stop });
    if (!summary) throw new InputError(`No job named \`${name}\`; \`sluice status\` lists them`);
    stopProgress();
    printSummary(summary, json);
    if (summary.status === 'interrupted' && !json)
      console.error(
        `Stopped watching; job ${name} goes on (\`sluice wait ${name}\` follows it again)`,
      );
    return exitCodeOf(summary);
  } finally {
    stopProgress();
    await dbs.close();
  }
}
