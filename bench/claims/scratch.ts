// Where the claims bench writes: a database of its own on the bench's server (dropped at the end,
// so a shared server keeps nothing), holding sluice's own schema (Store.open migrates it) and one
// schema per candidate design with copies of sluice's tables (same columns, indexes, checks,
// foreign keys and trigger), so every design claims from an equivalent table.
import postgres, { type Sql } from 'postgres';
import { quoteIdent } from '../../src/plan/identifiers.ts';

const databaseName = 'sluice_bench_claims';
/** Every scratch schema starts with this; `dropScratch` removes them all. */
export const schemaPrefix = 'bench_claims_';

export function connect(url: string, max = 1): Sql {
  return postgres(url, { max, onnotice: () => {}, connect_timeout: 10, idle_timeout: 0 });
}

/** Creates the bench's database (dropping one a crashed run left) and returns its URL. */
export async function createScratchDatabase(serverUrl: string): Promise<string> {
  const admin = connect(serverUrl);
  try {
    await admin.unsafe(`drop database if exists ${quoteIdent(databaseName)} with (force)`);
    await admin.unsafe(`create database ${quoteIdent(databaseName)}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

export async function dropScratchDatabase(serverUrl: string): Promise<void> {
  const admin = connect(serverUrl);
  try {
    await admin.unsafe(`drop database if exists ${quoteIdent(databaseName)} with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * A schema with copies of sluice.jobs, sluice.tasks and sluice.outcomes, after sluice is migrated.
 * `like ... including all` copies columns, defaults, checks and indexes; the foreign keys and the
 * settle-parent trigger (whose WHEN never holds here, but is evaluated on every status change)
 * are added by hand. Returns the quoted schema name.
 */
export async function createScratchSchema(sql: Sql, name: string): Promise<string> {
  const s = quoteIdent(`${schemaPrefix}${name}`);
  await sql.unsafe(`
    create schema ${s};
    create table ${s}.jobs (like sluice.jobs including all);
    create table ${s}.tasks (like sluice.tasks including all);
    alter table ${s}.tasks add foreign key (job_id) references ${s}.jobs (id) on delete cascade;
    create table ${s}.outcomes (like sluice.outcomes including all);
    alter table ${s}.outcomes add foreign key (job_id) references ${s}.jobs (id) on delete cascade;
    create trigger tasks_settle_parent after update of status on ${s}.tasks
    for each row when (new.parent_seq is not null
                       and (old.status in ('done', 'failed')) <> (new.status in ('done', 'failed')))
    execute function sluice.settle_parent();`);
  return s;
}

/** A running job of `tasks` pending tasks with cap `cap` in a scratch schema; returns its id. */
export async function createScratchJob(
  sql: Sql,
  s: string,
  cap: number,
  tasks: number,
): Promise<string> {
  const [job] = await sql.unsafe<{ id: string }[]>(
    `insert into ${s}.jobs (name, status, source, fingerprint, max_parallelism, max_attempts, total_tasks, total_items)
     values ('bench-' || gen_random_uuid(), 'running', 'bench', 'bench', $1, 3, $2::int, $2::int)
     returning id::text`,
    [cap, tasks],
  );
  const id = (job as { id: string }).id;
  await sql.unsafe(
    `insert into ${s}.tasks (job_id, seq, payload, items)
     select $1, g, jsonb_build_object('i', g), 1 from generate_series(0, $2::int - 1) g`,
    [id, tasks],
  );
  return id;
}

/** A scratch job with one free slot row per unit of its cap (the slot designs). */
export async function createSlottedJob(sql: Sql, s: string, cap: number, tasks: number) {
  const id = await createScratchJob(sql, s, cap, tasks);
  await sql.unsafe(
    `insert into ${s}.slots (job_id, slot) select $1, g from generate_series(1, $2::int) g`,
    [id, cap],
  );
  return id;
}
