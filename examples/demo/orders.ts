import type { Sql } from 'postgres';

// Serialises seeding between processes that start on an empty database at the same moment.
const seedLock = 0x0d_e0_0001;

/**
 * Creates the demo `orders` table when it is missing: `rows` deterministic orders whose ids have
 * gaps (250 ids skipped after every 1,000) and one jump of 10^12 at 70% of the table, so ranges
 * cannot be planned by key width alone.
 */
export async function createDemoOrders(
  sql: Sql,
  rows = 1_000_000,
  table = 'orders',
): Promise<void> {
  const created = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${seedLock})`;
    const [found] = await tx`select to_regclass(${table}) as t`;
    if (found?.t) return false;
    await tx`create table ${tx(table)} (
      id bigint primary key, status text not null, amount numeric(12,2) not null, updated_at timestamptz not null)`;
    await tx`
      insert into ${tx(table)} (id, status, amount, updated_at)
      select g + (g / 1000) * 250 + case when g > ${Math.floor(rows * 0.7)} then 1000000000000 else 0 end,
        (array['pending', 'paid', 'paid', 'shipped', 'shipped', 'shipped', 'refunded', 'cancelled'])[1 + (g * 7919) % 8],
        ((g * 7907) % 100000) / 100.0,
        timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => g)
      from generate_series(1, ${rows}::bigint) g`;
    return true;
  });
  // Sets the visibility map so range queries and planning run as index-only scans.
  if (created) await sql`vacuum analyze ${sql(table)}`;
}
