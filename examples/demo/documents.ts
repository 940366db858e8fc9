import type { Sql } from 'postgres';

// Serialises seeding between processes that start on an empty database at the same moment.
const seedLock = 0x0d_e0_0004;

const vocabulary = [
  'the',
  'a',
  'batch',
  'job',
  'row',
  'range',
  'chunk',
  'worker',
  'retry',
  'cap',
  'queue',
  'limit',
  'crash',
  'resume',
  'checkpoint',
  'reduce',
  'map',
  'combine',
  'partial',
  'key',
  'order',
  'plan',
  'postgres',
  'index',
  'lock',
  'lease',
  'epoch',
  'report',
  'result',
  'sluice',
];

/**
 * Creates the demo `documents` table when it is missing: `rows` deterministic short texts of 3 to
 * 8 words drawn from a vocabulary of 30, with ids that leave gaps.
 */
export async function createDemoDocuments(sql: Sql, rows = 50_000): Promise<void> {
  const created = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${seedLock})`;
    const [found] = await tx`select to_regclass('documents') as t`;
    if (found?.t) return false;
    await tx`create table documents (id bigint primary key, body text not null)`;
    await tx`
      insert into documents (id, body)
      select g * 3, (select string_agg(w.words[1 + (g * 7919 + k * 104729) % 30], ' ')
                     from generate_series(1, 3 + g % 6) k)
      from generate_series(1, ${rows}::bigint) g, (select ${vocabulary}::text[] as words) w`;
    return true;
  });
  if (created) await sql`vacuum analyze documents`;
}
