import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { count } from '../../observe/format.ts';
import type { PrunableJob } from '../../store/prune.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, withFlags } from '../flags.ts';
import { printJson } from '../output.ts';
import type { Act } from '../program.ts';

interface PruneFlags extends DatabaseFlags {
  finishedBefore?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Adds `sluice prune --finished-before <age> [job-name...]` to the program. */
export function definePrune(program: Command, act: Act): void {
  const command = program
    .command('prune')
    .description('deletes ended jobs with their tasks, outcomes and dead letters')
    .argument('[job-name...]', 'only these jobs (each must have ended)');
  withFlags(command, 'sluice prune', [
    'finished-before',
    'dry-run',
    ...databaseFlags,
    'json',
  ]).action(act(pruneCommand));
}

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `7d` → seconds. An age is a whole number and one unit, so `1.5d` or `7` are refused. */
export function parseAge(text: string | undefined): number {
  if (text === undefined)
    throw new InputError(
      '`--finished-before` is required: prune jobs that ended how long ago, such as 7d',
    );
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!match)
    throw new InputError(
      `Expected \`--finished-before\` to be an age such as 30m, 12h, 7d or 2w, got \`${text}\``,
    );
  return Number(match[1]) * (unitSeconds[match[2] as string] as number);
}

async function pruneCommand(names: string[], values: PruneFlags): Promise<number> {
  const olderThanS = parseAge(values.finishedBefore);
  // A database sluice never ran on holds nothing to prune, and is left as it is.
  const dbs = await openDatabases(values, { create: false });
  try {
    const store = dbs.store;
    const only = names.length > 0 ? names : undefined;
    if (only && !store.fresh) {
      const unended = await store.unended(only);
      if (unended.length > 0) {
        const [first] = unended;
        throw new InputError(
          `Cannot prune ${first?.name}: it is ${first?.status}; only done, failed and cancelled jobs are pruned`,
        );
      }
    }
    const jobs = store.fresh ? [] : await store.prunable(olderThanS, only);
    if (only) {
      const missing = only.filter((name) => !jobs.some((job) => job.name === name));
      if (missing.length > 0)
        throw new InputError(
          `No ended job named \`${missing[0]}\` finished before ${values.finishedBefore} ago; \`sluice status\` lists them`,
        );
    }
    const pruned = values.dryRun
      ? []
      : await store.prune(
          jobs.map((job) => job.id),
          olderThanS,
        );
    const listed = values.dryRun ? jobs : jobs.filter((job) => pruned.includes(job.name));
    report(listed, values, jobs.length - listed.length);
    return exitCodes.ok;
  } finally {
    await dbs.close();
  }
}

function report(jobs: PrunableJob[], values: PruneFlags, keptSinceListed: number): void {
  const dryRun = values.dryRun ?? false;
  const total = (field: 'tasks' | 'outcomes' | 'deadLetters') =>
    jobs.reduce((sum, job) => sum + job[field], 0);
  if (values.json) {
    printJson({
      dryRun,
      jobs: jobs.map(({ id: _id, ...job }) => job),
      tasks: total('tasks'),
      outcomes: total('outcomes'),
      deadLetters: total('deadLetters'),
    });
    return;
  }
  if (jobs.length === 0) {
    console.log(`No job ended more than ${values.finishedBefore} ago; nothing to prune`);
    return;
  }
  for (const job of jobs) {
    console.log(
      `${dryRun ? 'Would delete' : 'Deleted'} ${job.name} (${job.status}, ended ${job.finishedAt.toISOString()}):` +
        ` ${count(job.tasks)} tasks, ${count(job.outcomes)} outcomes, ${count(job.deadLetters)} dead letters`,
    );
  }
  const what =
    `${count(jobs.length)} ${jobs.length === 1 ? 'job' : 'jobs'}: ${count(total('tasks'))} tasks, ` +
    `${count(total('outcomes'))} outcomes, ${count(total('deadLetters'))} dead letters`;
  console.log(dryRun ? `Would prune ${what}; run without --dry-run to delete` : `Pruned ${what}`);
  if (keptSinceListed > 0) console.log(`Kept ${keptSinceListed} that ran again while pruning`);
}
