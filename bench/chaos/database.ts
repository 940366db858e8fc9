// The chaos suite's PostgreSQL (a server of its own, which it restarts mid-run) and its tables.
import postgres, { type Sql } from 'postgres';

export type { Restart } from '../../test/support/restartableServer.ts';
export { startRestartableServer as startChaosServer } from '../../test/support/restartableServer.ts';

/**
 * `rows` source rows with `poison` of them planted at random, an empty target whose trigger
 * counts applications, and the attempt log the job writes. Returns the poison ids.
 */
export async function seedTables(sql: Sql, rows: number, poison: number): Promise<number[]> {
  await sql`create table chaos_source (id int primary key, v int not null, note text)`;
  await sql`insert into chaos_source select g, (g::bigint * 7919) % 100003, null
    from generate_series(1, ${rows}::int) g`;
  const planted = await sql<{ id: number }[]>`
    update chaos_source set note = 'poison'
    where id in (select id from chaos_source order by random() limit ${poison})
    returning id`;
  await sql`vacuum analyze chaos_source`;
  await sql`create table chaos_target (id int primary key, v bigint not null,
    applications int not null default 1)`;
  // Every `on conflict do update` of a row is one more application of it.
  await sql`create function chaos_count_application() returns trigger language plpgsql as $$
    begin new.applications := old.applications + 1; return new; end $$`;
  await sql`create trigger chaos_applications before update on chaos_target
    for each row execute function chaos_count_application()`;
  await sql`create table chaos_attempts (id bigserial primary key, seq int not null,
    attempt int not null, pid int not null, first_id int, last_id int, rows int not null,
    started_at timestamptz not null default clock_timestamp(), ended_at timestamptz)`;
  return planted.map((r) => r.id).sort((a, b) => a - b);
}

export function connect(url: string): Sql {
  return postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
}
