// What the scale bench watches from the database while it runs, every 50 ms: server connections
// (all client backends, and the most held by one sluice process, told apart by the pid at the end
// of each connection's application_name `sluice:<purpose>:<pid>`), and the job's running tasks.
import type { Sql } from 'postgres';

export interface Peaks {
  /** Client backends on the server, the bench's own 2 included. */
  connections: number;
  /** The most connections one sluice process held. */
  perProcess: number;
  running: number;
}

export function startSamples(sql: Sql, everyMs = 50) {
  let peaks: Peaks = { connections: 0, perProcess: 0, running: 0 };
  let sampling = true;
  let planned = false;
  const loop = (async () => {
    while (sampling) {
      const [row] = await sql<Peaks[]>`
        select
          (select count(*) from pg_stat_activity where backend_type = 'client backend')::int
            as connections,
          (select coalesce(max(n), 0) from (
            select count(*)::int as n from pg_stat_activity where application_name like 'sluice:%'
            group by substring(application_name from ':([0-9]+)$')) per) as "perProcess",
          0 as running`;
      // The store's schema appears when the first worker opens it.
      planned ||= (await sql`select to_regclass('sluice.tasks') as t`)[0]?.t !== null;
      if (row && planned) {
        const [tasks] = await sql<{ n: number }[]>`
          select count(*)::int as n from sluice.tasks where status = 'running'`;
        row.running = tasks?.n ?? 0;
      }
      if (row) {
        peaks = {
          connections: Math.max(peaks.connections, row.connections),
          perProcess: Math.max(peaks.perProcess, row.perProcess),
          running: Math.max(peaks.running, row.running),
        };
      }
      await new Promise((done) => setTimeout(done, everyMs));
    }
  })();
  return {
    /** The peaks since the last call (or the start), and a fresh start for the next phase. */
    phase(): Peaks {
      const seen = peaks;
      peaks = { connections: 0, perProcess: 0, running: 0 };
      return seen;
    },
    stop: async () => {
      sampling = false;
      await loop;
    },
  };
}
