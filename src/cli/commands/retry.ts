import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { loadJob } from '../../job/loadJob.ts';
import { writeStderr } from '../../observe/log/stderr.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { type ExecutorFlags, withExecutorFlags } from '../executorFlags.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, executorFlags, jsonRun, withFlags } from '../flags.ts';
import { checkWritable } from '../output.ts';
import type { Act } from '../program.ts';
import { follow } from './run.ts';

interface RetryFlags extends DatabaseFlags, ExecutorFlags {
  json?: boolean;
  failedOnly?: boolean;
  out?: string;
}

/** Adds `sluice retry <job.ts>` to the program. */
export function defineRetry(program: Command, act: Act): void {
  const command = program
    .command('retry')
    .description('puts only the failed tasks back in the queue and runs them')
    .argument('<job.ts>', 'the job module to retry');
  withFlags(
    command,
    'sluice retry job.ts',
    ['failed-only', 'out', ...executorFlags, ...databaseFlags, 'json'],
    { out: { help: 'appends the new item outcomes to the file as JSON lines' }, json: jsonRun },
  ).action(act(retryCommand));
}

/** `sluice retry <job.ts>`: puts only the failed tasks back in the queue and runs them. */
async function retryCommand(path: string, values: RetryFlags): Promise<number> {
  const job = withExecutorFlags(await loadJob(path), values);
  if (values.out !== undefined) await checkWritable(values.out);
  const dbs = await openDatabases(values);
  try {
    const row = await dbs.store.findJob(job.name);
    if (!row)
      throw new InputError(`No job named \`${job.name}\` yet; start it with \`sluice run\``);
    // --failed-only re-runs exactly the failed items of finished chunks; failed tasks (a range,
    // or a chunk that threw) run again whole either way.
    const items = values.failedOnly ? await dbs.store.requeueFailedItems(row.id) : 0;
    const requeued = items + (await dbs.store.requeueFailed(row.id));
    if (!values.json) {
      writeStderr(`Retrying ${requeued} failed task(s) of ${job.name}`, {
        job: job.name,
        event: 'retry:queued',
        tasks: requeued,
      });
    }
    if (requeued === 0 && row.status !== 'running' && !values.json) {
      console.log(`No failed tasks in ${job.name}; nothing to retry`);
      return exitCodes.ok;
    }
    return await follow(job, dbs.store, dbs.sourceUrl, {
      json: values.json ?? false,
      out: values.out,
      appendOut: true,
    });
  } finally {
    await dbs.close();
  }
}
