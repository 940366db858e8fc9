// The network cut of the chaos suite: once the worker behind the proxy is in the middle of a
// task, the proxy stops forwarding; the suite measures how long until the store takes that
// worker's tasks back and another process starts them, then heals the link (or closes it).
import type { Sql } from 'postgres';
import type { CutProxy } from './proxy.ts';

export interface CutReport {
  pids: number[];
  cutAt: number;
  healedAt?: number;
  ending: 'healed' | 'closed';
  /** Tasks the cut worker was running when the link was cut. */
  inFlight: number[];
  /** Seconds from the cut until the store gave each task back (owner changed or not running). */
  reclaimedS: number[];
  /** Seconds from the cut until another process started each task. */
  restartedS: number[];
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function cutLink(
  sql: Sql,
  job: string,
  proxy: CutProxy,
  pid: () => number | undefined,
  options: { maxMs: number; holdAfterMs: number; ending: 'healed' | 'closed' },
): Promise<CutReport> {
  // Wait (up to 30 s) until the worker has run a task for a second, so that it holds a claim
  // and some of the task's rows may already be written.
  let busy: { seq: number }[] = [];
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const worker = pid();
    if (worker !== undefined) {
      busy = await sql<{ seq: number }[]>`
        select seq from chaos_attempts where pid = ${worker} and ended_at is null
          and started_at < clock_timestamp() - interval '1 second'`.catch(() => []);
      if (busy.length > 0) break;
    }
    await sleep(100);
  }
  proxy.cut();
  const cutAt = Date.now();
  const worker = pid() as number;
  // Every task it had started by then, not only the one that ran for a second.
  const open = await sql<{ seq: number }[]>`
    select seq from chaos_attempts where pid = ${worker} and ended_at is null
      and started_at <= to_timestamp(${cutAt / 1000})`;
  const inFlight = [...new Set([...busy, ...open].map((b) => b.seq))];
  const owners = await sql<{ seq: number; owner: number }[]>`
    select t.seq, t.owner from sluice.tasks t join sluice.jobs j on j.id = t.job_id
    where j.name = ${job} and t.seq = any(${inFlight}::int[]) and t.status = 'running'`;
  const reclaimed = new Map<number, number>();
  const restarted = new Map<number, number>();
  const deadline = cutAt + options.maxMs;
  while (Date.now() < deadline && restarted.size < inFlight.length) {
    for (const { seq, owner } of owners) {
      if (reclaimed.has(seq)) continue;
      const [task] = await sql<{ status: string; owner: number | null }[]>`
        select t.status, t.owner from sluice.tasks t join sluice.jobs j on j.id = t.job_id
        where j.name = ${job} and t.seq = ${seq}`;
      if (task && (task.status !== 'running' || task.owner !== owner)) {
        reclaimed.set(seq, (Date.now() - cutAt) / 1000);
      }
    }
    const starts = await sql<{ seq: number; at: Date }[]>`
      select seq, min(started_at) as at from chaos_attempts
      where seq = any(${inFlight}::int[]) and pid <> ${worker}
        and started_at > to_timestamp(${cutAt / 1000}) group by seq`;
    for (const s of starts) restarted.set(s.seq, (s.at.getTime() - cutAt) / 1000);
    await sleep(100);
  }
  await sleep(options.holdAfterMs);
  if (options.ending === 'healed') proxy.heal();
  else proxy.closeLinks();
  return {
    pids: [worker],
    cutAt,
    healedAt: Date.now(),
    ending: options.ending,
    inFlight,
    reclaimedS: [...reclaimed.values()],
    restartedS: [...restarted.values()],
  };
}
