import { InputError } from '../../errors.ts';
import { isFile, loadJob } from '../../job/loadJob.ts';
import type { Job } from '../../job/types.ts';
import type { DeadLetter, JobRow, Store } from '../../store/index.ts';
import { parse, wholeFlag } from '../args.ts';
import { databaseFlagSpecs, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { checkWritable, printJson } from '../output.ts';
import { follow } from './run.ts';

export const dlqUsage =
  'sluice dlq list|show|replay|purge <job> [key] [--key K] [--limit N] [--out results.jsonl] [--database-url URL] [--state-url URL] [--json]';

const flags = {
  ...databaseFlagSpecs,
  json: { type: 'boolean' },
  key: { type: 'string' },
  limit: { type: 'string' },
  out: { type: 'string' },
} as const;

type Values = ReturnType<typeof parse<typeof flags>>['values'];

/** Which positionals and flags each subcommand takes, beyond the databases and --json. */
const subcommands = {
  list: { args: ['job'], flags: ['limit'] },
  show: { args: ['job', 'key'], flags: [] },
  purge: { args: ['job'], flags: ['key'] },
  replay: { args: ['job'], flags: ['out'] },
} as const satisfies Record<string, { args: readonly string[]; flags: readonly string[] }>;

type Subcommand = keyof typeof subcommands;

/** `sluice dlq list|show|replay|purge <job>`: the items that failed for good, and what to do with them. */
export async function dlqCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, flags, dlqUsage);
  const [sub, ...args] = positionals;
  if (sub === undefined || !Object.hasOwn(subcommands, sub)) {
    throw new InputError(
      `Expected a dlq subcommand (${Object.keys(subcommands).join(', ')}), got ${sub === undefined ? 'none' : `\`${sub}\``}; usage: ${dlqUsage}`,
    );
  }
  const spec = subcommands[sub as Subcommand];
  if (args.length !== spec.args.length) {
    throw new InputError(
      `\`sluice dlq ${sub}\` takes ${spec.args.map((a) => `<${a}>`).join(' ')}; usage: ${dlqUsage}`,
    );
  }
  for (const flag of ['key', 'limit', 'out'] as const) {
    if (values[flag] !== undefined && !(spec.flags as readonly string[]).includes(flag))
      throw new InputError(`\`sluice dlq ${sub}\` takes no --${flag}; usage: ${dlqUsage}`);
  }
  const limit = wholeFlag('limit', values.limit, 1) ?? 100;
  if (values.out !== undefined) await checkWritable(values.out);
  const target = args[0] as string;
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
    switch (sub as Subcommand) {
      case 'list':
        return await list(dbs.store, row, limit, json);
      case 'show':
        return await show(dbs.store, row, args[1] as string, json);
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
  values: Values,
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
  if (!json)
    console.error(
      `Replaying ${queued.letters} dead letter(s) of ${job.name} in ${queued.tasks} task(s)`,
    );
  return follow(job, dbs.store, dbs.sourceUrl, { json, out: values.out, appendOut: true });
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
