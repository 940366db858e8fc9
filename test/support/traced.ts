import postgres, { type Sql } from 'postgres';
import { createTestDatabase } from './db.ts';

/** A test database for test/fixtures/tracedJob.ts, with helpers that read its `trace` table. */
export async function tracedDatabase() {
  const db = await createTestDatabase();
  const sql: Sql = postgres(db.url, { max: 2, onnotice: () => {} });
  // The job creates it too; creating it here lets a test read it before the job starts.
  await sql`create table trace (
    id serial primary key, seq int not null, pid int not null, backend int, attempt int not null,
    started_at timestamptz not null default clock_timestamp(), finished_at timestamptz)`;
  return {
    url: db.url,
    sql,
    /** Attempts recorded per range. */
    async attempts(): Promise<Map<number, number>> {
      const rows = await sql<
        { seq: number; n: number }[]
      >`select seq, count(*)::int as n from trace group by seq`;
      return new Map(rows.map((row) => [row.seq, row.n]));
    },
    /** Most attempts that overlapped in time, from the recorded start and finish times. */
    async peakOverlap(): Promise<number> {
      const [row] = await sql<{ peak: number }[]>`
        select coalesce(max(live), 0)::int as peak from (
          select sum(delta) over (order by at, delta) as live from (
            select started_at as at, 1 as delta from trace
            union all select coalesce(finished_at, 'infinity'), -1 from trace) edges) running`;
      return row?.peak ?? 0;
    },
    /** Running tasks of a job, as the store sees them (0 before the store exists). */
    async runningTasks(job: string): Promise<number> {
      const [schema] = await sql`select to_regclass('sluice.tasks') as t`;
      if (!schema?.t) return 0;
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from sluice.tasks t join sluice.jobs j on j.id = t.job_id
        where j.name = ${job} and t.status = 'running'`;
      return row?.n ?? 0;
    },
    async close() {
      await sql.end();
      await db.drop();
    },
  };
}
