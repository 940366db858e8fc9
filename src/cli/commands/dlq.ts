import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { isFile, loadJob } from '../../job/loadJob.ts';
import type { Job } from '../../job/types.ts';
import { writeStderr } from '../../observe/log/stderr.ts';
import type { DeadLetter, JobRow, Store } from '../../store/index.ts';
import { wholeFlag } from '../args.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, jsonRun, withFlags } from '../flags.ts';
import { checkWritable, printJson } from '../output.ts';
import type { Act } from '../program.ts';
import { follow } from './run.ts';

interface DlqFlags extends DatabaseFlags {
  json?: boolean;
  key?: string;
  limit?: string;
  out?: string;
}

type Subcommand = 'list' | 'show' | 'purge' | 'replay';

/** Adds `sluice dlq list|show|purge|replay` to the program. */
export function defineDlq(program: Command, act: Act): void {
  const dlq = program
    .command('dlq')
    .description('the items that failed for good (dead letters), and what to do with them')
    .usage('list|show|purge|replay <job> [options]');
  const subcommand = (name: Subcommand, description: string) =>
    dlq
      .command(name)
      .description(description)
      .argument('<job>', "the job's name, or its module (job.ts)");
  withFlags(
    subcommand('list', "the job's dead letters: key, attempts, last error, last failed"),
    'sluice dlq list backfill',
    ['limit', ...databaseFlags, 'json'],
  ).action(act((job: string, values: DlqFlags) => dlqCommand('list', job, values)));
  withFlags(
    subcommand('show', 'one dead letter: payload, error, stack, attempts, times').argument(
      '<key>',
      "the dead letter's key",
    ),
    'sluice dlq show backfill 42',
    [...databaseFlags, 'json'],
  ).action(
    act((job: string, key: string, values: DlqFlags) => dlqCommand('show', job, values, key)),
  );
  withFlags(
    subcommand('purge', 'deletes them all, or one; prints how many'),
    'sluice dlq purge backfill',
    ['key', ...databaseFlags, 'json'],
  ).action(act((job: string, values: DlqFlags) => dlqCommand('purge', job, values)));
  withFlags(
    subcommand('replay', 'runs the dead letters again, as `sluice retry` runs failed tasks'),
    'sluice dlq replay backfill',
    ['out', ...databaseFlags, 'json'],
    { out: { help: 'appends the new item outcomes to the file as JSON lines' }, json: jsonRun },
  ).action(act((job: string, values: DlqFlags) => dlqCommand('replay', job, values)));
}

/** `sluice dlq list|show|replay|purge <job>`: the items that failed for good, and what to do with them. */
async function dlqCommand(
  sub: Subcommand,
  target: string,
  values: DlqFlags,
  key?: string,
): Promise<number> {
  const limit = wholeFlag('limit', values.limit, 1) ?? 100;
  if (values.out !== undefined) await checkWritable(values.out);
  // A module path is loaded before any database work, so a broken module changes nothing.
  const module = (await isFile(target)) ? await loadJob(target) : undefined;
  const dbs = await openDatabases(values);
  try {
    const row = await dbs.store.findJob(module?.name ?? target);
    if (!row)
      throw new InputError(
        `No job named \`${module?.name ?? target}\`; \`sluice status\` lists them`,
      );
    const json = values.json ?? false;
    switch (sub) {
      case 'list':
        return await list(dbs.store, row, limit, json);
      case 'show':
        return await show(dbs.store, row, key as string, json);
      case 'purge':
        return await purge(dbs.store, row, values.key, json);
      case 'replay':
        return await replay(module ?? (await moduleOf(row)), row, dbs, values);
    }
  } finally {
    await dbs.close();
  }
}

/** The job's module as `sluice run` recorded it; functions do not serialise, so replay needs it. */
async function moduleOf(row: JobRow): Promise<Job> {
  if (row.module === null) {
    throw new InputError(
      `Job \`${row.name}\` has no recorded module; give its path: sluice dlq replay <job.ts>`,
    );
  }
  if (!(await isFile(row.module))) {
    throw new InputError(
      `Job \`${row.name}\` was run from \`${row.module}\`, which is gone; give its path: sluice dlq replay <job.ts>`,
    );
  }
  const job = await loadJob(row.module);
  // The file may have been edited to define another job since: replaying would reopen this one
  // with nothing to run its tasks, then run the other. (A path given instead is looked up by the
  // name it defines, so it always matches.)
  if (job.name !== row.name) {
    throw new InputError(
      `\`${row.module}\` now defines \`${job.name}\`, not \`${row.name}\`; give the job's module: sluice dlq replay <job.ts>`,
    );
  }
  return job;
}

async function list(store: Store, row: JobRow, limit: number, json: boolean): Promise<number> {
  const { total, letters } = await store.deadLetters(row.id, limit);
  if (json) {
    printJson({ job: row.name, total, deadLetters: letters.map(({ stack: _, ...rest }) => rest) });
    return exitCodes.ok;
  }
  if (total === 0) {
    console.log(`No dead letters in ${row.name}`);
    return exitCodes.ok;
  }
  const keyWidth = Math.min(40, Math.max(3, ...letters.map((l) => l.key.length)));
  console.log(`${'KEY'.padEnd(keyWidth)}  ATTEMPTS  LAST FAILED               LAST ERROR`);
  for (const l of letters) {
    console.log(
      `${clip(l.key, keyWidth).padEnd(keyWidth)}  ${String(l.attempts).padEnd(8)}  ` +
        `${l.lastFailedAt.toISOString().padEnd(24)}  ${clip(firstLine(l.error), 72)}`,
    );
  }
  const more = total > letters.length ? `, ${total - letters.length} not shown (--limit)` : '';
  console.log(`${total} dead letter(s) in ${row.name}${more}`);
  return exitCodes.ok;
}

async function show(store: Store, row: JobRow, key: string, json: boolean): Promise<number> {
  const letter = await store.deadLetter(row.id, key);
  if (!letter)
    throw new InputError(
      `No dead letter \`${key}\` in job \`${row.name}\`; \`sluice dlq list ${row.name}\` lists them`,
    );
  if (json) {
    printJson({ job: row.name, ...letter });
    return exitCodes.ok;
  }
  printLetter(row.name, letter);
  return exitCodes.ok;
}

function printLetter(job: string, l: DeadLetter): void {
  console.log(`key:           ${l.key}`);
  console.log(`job:           ${job} (task ${l.taskSeq})`);
  console.log(`attempts:      ${l.attempts}`);
  console.log(`first failed:  ${l.firstFailedAt.toISOString()}`);
  console.log(`last failed:   ${l.lastFailedAt.toISOString()}`);
  console.log(`error:         ${l.error}`);
  console.log(`payload:\n${JSON.stringify(l.payload, null, 2)}`);
  console.log(`stack:\n${l.stack ?? '(none)'}`);
}

async function purge(
  store: Store,
  row: JobRow,
  key: string | undefined,
  json: boolean,
): Promise<number> {
  const purged = await store.purgeDeadLetters(row.id, key);
  if (json) printJson({ job: row.name, purged });
  else console.log(`Purged ${purged} dead letter(s) from ${row.name}`);
  return exitCodes.ok;
}

async function replay(
  job: Job,
  row: JobRow,
  dbs: Awaited<ReturnType<typeof openDatabases>>,
  values: DlqFlags,
): Promise<number> {
  const json = values.json ?? false;
  if (row.fingerprint !== job.source.fingerprint) {
    throw new InputError(
      `Job \`${job.name}\` was planned with other source options (${row.source}); its dead letters cannot be replayed with this module`,
    );
  }
  const queued = await dbs.store.requeueDeadLetters(row.id);
  if (queued.letters === 0 && row.status !== 'running') {
    if (json) printJson({ job: job.name, replayed: 0 });
    else console.log(`No dead letters to replay in ${job.name}`);
    return exitCodes.ok;
  }
  if (!json) {
    writeStderr(
      `Replaying ${queued.letters} dead letter(s) of ${job.name} in ${queued.tasks} task(s)`,
      { job: job.name, event: 'dlq:replaying', letters: queued.letters, tasks: queued.tasks },
    );
  }
  return follow(job, dbs.store, dbs.sourceUrl, { json, out: values.out, appendOut: true });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
