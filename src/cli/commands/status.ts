import { relative } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { count } from '../../observe/format.ts';
import { presentResult } from '../../run/mapReduce.ts';
import type { JobRow, Store } from '../../store/index.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, withFlags } from '../flags.ts';
import { printJson } from '../output.ts';
import type { Act } from '../program.ts';

interface StatusFlags extends DatabaseFlags {
  json?: boolean;
}

/** Adds `sluice status [job-name]` to the program. */
export function defineStatus(program: Command, act: Act): void {
  const command = program
    .command('status')
    .description('every job, or one job with its failed tasks')
    .argument('[job-name]', 'the job to show');
  withFlags(command, 'sluice status', [...databaseFlags, 'json']).action(act(statusCommand));
}

/** `sluice status [job]`: every job in a table, or one job with its failed tasks. */
async function statusCommand(name: string | undefined, values: StatusFlags): Promise<number> {
  // A reader: a database sluice never ran on is left without schema `sluice`.
  const dbs = await openDatabases(values, { create: false });
  try {
    if (name === undefined) await listAll(dbs.store, values.json ?? false);
    else await showOne(dbs.store, name, values.json ?? false);
    return exitCodes.ok;
  } finally {
    await dbs.close();
  }
}

async function describe(store: Store, row: JobRow) {
  const counts = await store.counts(row.id);
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
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

async function listAll(store: Store, json: boolean) {
  const rows = store.fresh ? [] : await store.listJobs();
  const jobs = await Promise.all(rows.map((row) => describe(store, row)));
  if (json) return printJson({ jobs });
  if (jobs.length === 0) return console.log('No jobs yet; start one with `sluice run <job.ts>`');
  for (const j of jobs) {
    console.log(
      `${j.job.padEnd(24)} ${j.status.padEnd(9)} ${j.tasks.done}/${j.tasks.total} tasks` +
        `  ${count(j.items.done)}/${count(j.items.total)} items, ${count(j.items.failed)} failed` +
        `  ${j.tasks.failed} failed tasks  ${j.tasks.running} running` +
        (j.reason ? `  (${j.reason})` : ''),
    );
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
