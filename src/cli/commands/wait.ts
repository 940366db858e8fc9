import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { Events } from '../../observe/events.ts';
import { reportRunOnStderr, writeStderr } from '../../observe/log/stderr.ts';
import { watchJob } from '../../run/watchJob.ts';
import { type DatabaseFlags, type Databases, openDatabases } from '../databases.ts';
import { databaseFlags, withFlags } from '../flags.ts';
import type { Act } from '../program.ts';
import { exitCodeOf, printSummary } from './run.ts';

interface WaitFlags extends DatabaseFlags {
  json?: boolean;
}

/** Adds `sluice wait <job-name>` to the program. */
export function defineWait(program: Command, act: Act): void {
  const command = program
    .command('wait')
    .description(
      'follows a job that workers run, as `sluice run` would, claiming nothing (Ctrl-C stops watching)',
    )
    .argument('<job-name>', 'the name of the job to wait for');
  withFlags(command, 'sluice wait backfill', [...databaseFlags, 'json']).action(act(waitCommand));
}

/**
 * `sluice wait <job-name>`: follows a job that workers run, with the progress, summary and exit
 * code of `sluice run`, and claims nothing. Ctrl-C stops watching; the job goes on.
 */
async function waitCommand(name: string, values: WaitFlags): Promise<number> {
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
  const stopProgress = reportRunOnStderr(events, {
    job: name,
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
      writeStderr(
        `Stopped watching; job ${name} goes on (\`sluice wait ${name}\` follows it again)`,
        { job: name, event: 'wait:stopped' },
      );
    return exitCodeOf(summary);
  } finally {
    stopProgress();
    await dbs.close();
  }
}
