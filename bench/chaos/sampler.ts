// Reads the job's tasks from the store every 50 ms: the most ever `running` at once (the cap as
// the database sees it), progress, and whether the job has ended. Reads that fail while the
// server is down are skipped.
import type { Sql } from 'postgres';

export function startSampler(sql: Sql, job: string) {
  let maxRunning = 0;
  let samples = 0;
  let status: string | undefined;
  let done = 0;
  let total = 0;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const [row] = await sql<{ status: string; running: number; done: number; total: number }[]>`
        select j.status, count(*) filter (where t.status = 'running')::int as running,
               count(*) filter (where t.status in ('done', 'failed'))::int as done,
               count(*)::int as total
        from sluice.jobs j join sluice.tasks t on t.job_id = j.id
        where j.name = ${job} group by j.id, j.status`;
      if (row) {
        samples++;
        maxRunning = Math.max(maxRunning, row.running);
        ({ status, done, total } = row);
      }
    } catch {
      // The schema is not there yet, or the server is restarting.
    } finally {
      busy = false;
    }
  }, 50);
  return {
    planned: () => total > 0,
    ended: () => status !== undefined && status !== 'running' && status !== 'paused',
    maxRunning: () => maxRunning,
    samples: () => samples,
    done: () => done,
    total: () => total,
    async stop() {
      clearInterval(timer);
      await sql.end({ timeout: 1 });
    },
  };
}
