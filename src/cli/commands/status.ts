import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { count } from '../../observe/format.ts';
import { type JobLine, jobTable } from '../../observe/jobTable.ts';
import { presentResult } from '../../run/mapReduce.ts';
import type { JobCounts, JobRow, Store } from '../../store/index.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, withFlags } from '../flags.ts';
import { printJson } from '../output.ts';
import type { Act } from '../program.ts';

interface StatusFlags extends DatabaseFlags {
  json?: boolean;
  watch?: boolean;
}

/** Adds `sluice status [job-name]` to the program. */
export function defineStatus(program: Command, act: Act): void {
  const command = program
    .command('status')
    .description('every job, or one job with its failed tasks')
    .argument('[job-name]', 'the job to show');
  withFlags(command, 'sluice status', [...databaseFlags, 'json', 'watch']).action(
    act(statusCommand),
  );
}

/** `sluice status [job]`: every job in a table, or one job with its failed tasks. */
async function statusCommand(name: string | undefined, values: StatusFlags): Promise<number> {
  // A reader: a database sluice never ran on is left without schema `sluice`.
  if (values.watch && (values.json || name !== undefined))
    throw new InputError(
      '`--watch` redraws the table of every job: drop `--json` and the job name',
    );
  const dbs = await openDatabases(values, { create: false });
  try {
    if (values.watch) await watchAll(dbs.store);
    else if (name === undefined) await listAll(dbs.store, values.json ?? false);
    else await showOne(dbs.store, name, values.json ?? false);
    return exitCodes.ok;
  } finally {
    await dbs.close();
  }
}

async function describe(store: Store, row: JobRow, known?: { counts: JobCounts; dead: number }) {
  const counts = known?.counts ?? (await store.counts(row.id));
  return {
    job: row.name,
    status: row.status,
    /** Why it is paused, cancelled, or failed by its alert or deadline. */
    reason: row.statusReason,
    stoppedBy: row.stoppedBy,
    source: row.source,
    maxParallelism: row.maxParallelism,
    tasks: {
      total: row.totalTasks,
      pending: counts.pending.tasks,
      running: counts.running.tasks,
      done: counts.done.tasks,
      failed: counts.failed.tasks,
    },
    items: { total: row.totalItems, done: counts.done.items, failed: counts.failed.items },
    deadLetters: known?.dead ?? (await store.deadLetterCounts([row.id])).get(row.id) ?? 0,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

type Described = Awaited<ReturnType<typeof describe>>;

/** Every job, described, newest first. */
async function describeAll(store: Store): Promise<Described[]> {
  if (store.fresh) return [];
  const rows = await store.listJobs();
  const ids = rows.map((row) => row.id);
  // Two queries for every job, whatever their number and size (counts are maintained).
  const [counts, dead] = await Promise.all([store.countsOf(ids), store.deadLetterCounts(ids)]);
  return Promise.all(
    rows.map((row) =>
      describe(store, row, {
        counts: counts.get(row.id) as JobCounts,
        dead: dead.get(row.id) ?? 0,
      }),
    ),
  );
}

/**
 * A job's line in the table. `rate` is measured between redraws when watching; otherwise it is
 * the average from planning to now (or to the end), which is what a finished job ran at.
 */
function lineOf(job: Described, now: number, rate?: number): JobLine {
  const end = job.finishedAt?.getTime() ?? now;
  const elapsedS = Math.max(0, (end - job.createdAt.getTime()) / 1000);
  const processed = job.items.done + job.items.failed;
  return {
    job: job.job,
    status: job.status,
    itemsDone: job.items.done,
    itemsTotal: job.items.total,
    itemsFailed: job.items.failed,
    deadLetters: job.deadLetters,
    rate: rate ?? (elapsedS > 0 ? processed / elapsedS : undefined),
    runningTasks: job.tasks.running,
    cap: job.maxParallelism,
    startedAt: job.createdAt,
    elapsedS,
  };
}

const noJobs = 'No jobs yet; start one with `sluice run <job.ts>`';

async function listAll(store: Store, json: boolean) {
  const jobs = await describeAll(store);
  if (json) return printJson({ jobs });
  if (jobs.length === 0) return console.log(noJobs);
  const now = Date.now();
  const width = process.stdout.isTTY ? process.stdout.columns : undefined;
  for (const line of jobTable(
    jobs.map((job) => lineOf(job, now)),
    width,
  ))
    console.log(line);
}

/** Items processed per job at a moment, to measure rates between redraws. */
type Sample = { at: number; processed: Map<string, number> };

/**
 * `sluice status --watch`: the table, redrawn every second until Ctrl-C. Rates are measured over
 * the last ~5 s of redraws, so they follow the job as it speeds up or slows down.
 */
async function watchAll(store: Store): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const samples: Sample[] = [];
  const tty = process.stdout.isTTY === true;
  try {
    while (!stop.signal.aborted) {
      const jobs = await describeAll(store);
      const now = Date.now();
      samples.push({
        at: now,
        processed: new Map(jobs.map((j) => [j.job, j.items.done + j.items.failed])),
      });
      while (samples.length > 6) samples.shift();
      const first = samples[0] as Sample;
      const rateOf = (job: Described) => {
        const before = first.processed.get(job.job);
        if (samples.length < 2 || before === undefined || job.status !== 'running')
          return undefined;
        return (job.items.done + job.items.failed - before) / ((now - first.at) / 1000);
      };
      const lines =
        jobs.length === 0
          ? [noJobs]
          : jobTable(
              jobs.map((j) => lineOf(j, now, rateOf(j))),
              tty ? process.stdout.columns : undefined,
            );
      const stamp = `Every 1s, ${new Date(now).toLocaleTimeString('en-GB')}; Ctrl-C stops`;
      // On a terminal the table replaces the last one; in a pipe or file each follows the last.
      process.stdout.write(
        tty
          ? `\x1b[H\x1b[J${[stamp, ...lines].join('\n')}\n`
          : `${[stamp, ...lines].join('\n')}\n\n`,
      );
      await sleep(1000, undefined, { signal: stop.signal }).catch(() => {});
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function showOne(store: Store, name: string, json: boolean) {
  const row = store.fresh ? undefined : await store.findJob(name);
  if (!row) throw new InputError(`No job named \`${name}\`; \`sluice status\` lists them`);
  const detail = {
    ...(await describe(store, row)),
    failedTasks: await store.failed(row.id, 20),
    result: presentResult(row),
  };
  if (json) return printJson(detail);
  console.log(
    `${detail.job}: ${detail.status}${detail.reason ? ` (${detail.reason})` : ''}, source ${detail.source}, cap ${detail.maxParallelism}`,
  );
  const t = detail.tasks;
  console.log(
    `tasks: ${t.done}/${t.total} done, ${t.running} running, ${t.pending} pending, ${t.failed} failed`,
  );
  console.log(
    `items: ${count(detail.items.done)}/${count(detail.items.total)} done, ${count(detail.items.failed)} failed`,
  );
  for (const f of detail.failedTasks) {
    console.log(
      `  failed task ${f.seq} ${JSON.stringify(f.payload)} after ${f.attempts} attempts: ${f.error}`,
    );
  }
  if (detail.tasks.failed > 0)
    console.log(`Re-run only the failed tasks with \`sluice retry ${modulePath(row)}\``);
  if (detail.status === 'paused' || (detail.status === 'failed' && detail.stoppedBy))
    console.log(
      `Resume it with \`sluice resume ${detail.job}\`, then \`sluice run ${modulePath(row)}\``,
    );
}

/** The job's module as a command should name it: where `sluice run` last loaded it from. */
function modulePath(row: JobRow): string {
  return row.module ? relative(process.cwd(), row.module) || row.module : '<job.ts>';
}
