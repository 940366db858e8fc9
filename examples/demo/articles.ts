import type { Sql } from 'postgres';

// Serialises seeding between processes that start on an empty database at the same moment.
const seedLock = 0x0d_e0_0003;

/**
 * Creates the demo `articles` table when it is missing: `rows` articles, the first 40% of them
 * sharing one `updated_at` (a bulk import), the rest one millisecond apart, with an index on
 * (updated_at, id) for the cursor; and the empty `article_stats` table the backfill writes.
 */
export async function createDemoArticles(sql: Sql, rows = 100_000): Promise<void> {
  const created = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${seedLock})`;
    await tx`create table if not exists article_stats (
      article_id bigint primary key, slug text not null, words int not null)`;
    const [found] = await tx`select to_regclass('articles') as t`;
    if (found?.t) return false;
    await tx`create table articles (
      id bigint primary key, updated_at timestamptz not null, title text not null, body text not null)`;
    await tx`
      insert into articles (id, updated_at, title, body)
      select g,
        case when g <= ${Math.floor(rows * 0.4)} then timestamptz '2026-02-01 00:00:00+00'
             else timestamptz '2026-02-01 00:00:00+00' + make_interval(secs => g / 1000.0) end,
        'Article ' || g || ': ' || (array['Keyset paging', 'Crash-safe backfills', 'Idempotent writes'])[1 + g % 3],
        repeat('word ', (3 + g % 17)::int) || 'end.'
      from generate_series(1, ${rows}::bigint) g`;
    await tx`create index articles_updated_at_id on articles (updated_at, id)`;
    return true;
  });
  if (created) await sql`vacuum analyze articles`;
}
