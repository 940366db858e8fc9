import { InputError } from '../../errors.ts';
import { loadJob } from '../../job/loadJob.ts';
import { onePositional, parse } from '../args.ts';
import { openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { follow } from './run.ts';

export const retryUsage = 'sluice retry <job.ts> [--database-url URL] [--state-url URL] [--json]';

const flags = {
  'database-url': { type: 'string' },
  'state-url': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** `sluice retry <job.ts>`: puts only the failed tasks back in the queue and runs them. */
export async function retryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, flags, retryUsage);
  const job = await loadJob(onePositional(positionals, 'the job module to retry', retryUsage));
  const dbs = await openDatabases(values);
  try {
    const row = await dbs.store.findJob(job.name);
    if (!row)
      throw new InputError(`No job named \`${job.name}\` yet; start it with \`sluice run\``);
    const requeued = await dbs.store.requeueFailed(row.id);
    if (!values.json) console.error(`Retrying ${requeued} failed task(s) of ${job.name}`);
    if (requeued === 0 && row.status !== 'running' && !values.json) {
      console.log(`No failed tasks in ${job.name}; nothing to retry`);
      return exitCodes.ok;
    }
    return await follow(job, dbs.store, dbs.sourceUrl, { json: values.json ?? false });
  } finally {
    await dbs.close();
  }
}
