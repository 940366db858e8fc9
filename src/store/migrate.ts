import { readdir, readFile } from 'node:fs/promises';
import type { Sql } from 'postgres';
import { SchemaVersionError } from '../errors.ts';

const migrationsDir = new URL('./migrations/', import.meta.url);

// Serialises migrations between processes that start at the same moment (any constant will do).
const migrationLock = 0x51_1c_e0_01;

interface Migration {
  version: number;
  name: string;
  sql: string;
}

async function loadMigrations(): Promise<Migration[]> {
  const files = (await readdir(migrationsDir))
    .filter((file) => /^\d{4}_.+\.sql$/.test(file))
    .sort();
  return Promise.all(
    files.map(async (name) => ({
      version: Number(name.slice(0, 4)),
      name,
      sql: await readFile(new URL(name, migrationsDir), 'utf8'),
    })),
  );
}

/** Whether sluice has ever migrated this database (its ledger table exists). */
export async function hasSchema(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ found: boolean }[]>`
    select to_regclass('sluice.migrations') is not null as found`;
  return row?.found ?? false;
}

/**
 * Brings schema `sluice` up to date. Each migration runs in one transaction with the ledger row,
 * under an advisory lock, so concurrent starters apply each one exactly once.
 */
export async function migrate(sql: Sql): Promise<void> {
  const migrations = await loadMigrations();
  const latest = migrations.at(-1)?.version ?? 0;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${migrationLock})`;
    await tx`create schema if not exists sluice`;
    await tx`create table if not exists sluice.migrations (
      version int primary key, name text not null, applied_at timestamptz not null default now())`;
    const [row] = await tx<
      { version: number | null }[]
    >`select max(version) as version from sluice.migrations`;
    const current = row?.version ?? 0;
    if (current > latest) throw new SchemaVersionError(current, latest);
    for (const migration of migrations.filter((m) => m.version > current)) {
      await tx.unsafe(migration.sql);
      await tx`insert into sluice.migrations (version, name) values (${migration.version}, ${migration.name})`;
    }
  });
}
