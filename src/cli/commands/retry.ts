import { InputError } from '../../errors.ts';
import { loadJob } from '../../job/loadJob.ts';
import { onePositional, parse } from '../args.ts';
import { databaseFlagSpecs, openDatabases } from '../databases.ts';
import { executorFlagSpecs, withExecutorFlags } from '../executorFlags.ts';
import { exitCodes } from '../exitCodes.ts';
import { checkWritable } from '../output.ts';
import { follow } from './run.ts';

export const retryUsage =
  'sluice retry <job.ts> [--failed-only] [--out results.jsonl] [--executor thread[:N]] [--parallelism N] [--func-ram-mb N] [--func-cpu N] [--database-url URL] [--state-url URL] [--json]';

const flags = {
  ...databaseFlagSpecs,
  ...executorFlagSpecs,
  json: { type: 'boolean' },
  'failed-only': { type: 'boolean' },
  out: { type: 'string' },
} as const;

/** `sluice retry <job.ts>`: puts only the failed tasks back in the queue and runs them. */
export async function retryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, flags, retryUsage);
  const path = onePositional(positionals, 'the job module to retry', retryUsage);
  const job = withExecutorFlags(await loadJob(path), values);
  if (values.out !== undefined) await checkWritable(values.out);
  const dbs = await openDatabases(values);
  try {
    const row = await dbs.store.findJob(job.name);
    if (!row)
      throw new InputError(`No job named \`${job.name}\` yet; start it with \`sluice run\``);
    // --failed-only re-runs exactly the failed items of finished chunks; failed tasks (a range,
    // or a chunk that threw) run again whole either way.
    const items = values['failed-only'] ? await dbs.store.requeueFailedItems(row.id) : 0;
    const requeued = items + (await dbs.store.requeueFailed(row.id));
    if (!values.json) console.error(`Retrying ${requeued} failed task(s) of ${job.name}`);
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
