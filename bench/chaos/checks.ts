// What the chaos suite asserts once the job has ended, read from the database: the target against
// its ground truth, the dead letters against the planted poison, every re-applied row against
// the attempts a kill (or the restart, or the cut) interrupted, and the cap against the attempts'
// own start and end times.
import { readFile } from 'node:fs/promises';
import type { Sql } from 'postgres';
import type { Restart } from './database.ts';
import type { Life } from './processes.ts';

export interface Disruptions {
  lives: Life[];
  restart?: Restart;
  cut?: { pids: number[]; cutAt: number; healedAt?: number };
}

interface Attempt {
  seq: number;
  pid: number;
  started: number;
  ended: number | null;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export type Cause = 'SIGKILL' | 'PostgreSQL restart' | 'network cut' | 'unexplained';

/** Why an attempt that was not its task's last one ended early. */
function causeOf(a: Attempt, d: Disruptions): Cause {
  const life = d.lives.find((l) => l.pid === a.pid);
  if (life?.killedAt !== undefined && life.killedAt >= a.started) return 'SIGKILL';
  const r = d.restart;
  if (r && a.started <= r.startedAt && (a.ended === null || a.ended >= r.stoppingAt)) {
    return 'PostgreSQL restart';
  }
  if (d.cut?.pids.includes(a.pid) && a.started <= d.cut.cutAt) return 'network cut';
  return 'unexplained';
}

export async function targetMatchesTruth(sql: Sql): Promise<Check> {
  const [row] = await sql<{ missing: number; extra: number; truth: number }[]>`
    with truth as (select id, (v * 3 + 1)::bigint as v from chaos_source
                   where note is distinct from 'poison')
    select (select count(*) from (select * from truth except select id, v from chaos_target) m)::int
             as missing,
           (select count(*) from (select id, v from chaos_target except select * from truth) e)::int
             as extra,
           (select count(*) from truth)::int as truth`;
  const ok = row?.missing === 0 && row.extra === 0;
  return {
    name: 'target = ground truth',
    ok,
    detail: `${row?.truth} rows expected; ${row?.missing} missing or wrong, ${row?.extra} extra`,
  };
}

export async function deadLettersArePoison(
  sql: Sql,
  job: string,
  poison: number[],
): Promise<Check> {
  const rows = await sql<{ key: string }[]>`
    select d.item_key as key from sluice.dead_letters d join sluice.jobs j on j.id = d.job_id
    where j.name = ${job} order by 1`;
  const got = rows.map((r) => Number(r.key)).sort((a, b) => a - b);
  const ok = got.length === poison.length && got.every((k, i) => k === poison[i]);
  return {
    name: 'dead letters = planted poison',
    ok,
    detail: `${got.length} dead letters (${got.join(', ')}), ${poison.length} planted`,
  };
}

export interface Reapplied {
  check: Check;
  rows: number;
  extraApplications: number;
  tasks: number;
  byCause: Map<Cause, number>;
  attempts: number;
  cutAttempts: number;
}

/**
 * Rows applied more than once must belong to tasks with an attempt that did not finish (a later
 * attempt of the same task exists), cut by something the suite did; and a row can have been
 * applied at most once per attempt of its task.
 */
export async function reappliedRows(sql: Sql, d: Disruptions): Promise<Reapplied> {
  const attempts = (
    await sql<{ seq: number; pid: number; started: Date; ended: Date | null }[]>`
      select seq, pid, started_at as started, ended_at as ended from chaos_attempts order by id`
  ).map((a) => ({ ...a, started: a.started.getTime(), ended: a.ended?.getTime() ?? null }));
  const bySeq = new Map<number, Attempt[]>();
  for (const a of attempts) bySeq.set(a.seq, [...(bySeq.get(a.seq) ?? []), a]);
  const cutBySeq = new Map<number, Cause[]>();
  for (const [seq, list] of bySeq)
    cutBySeq.set(
      seq,
      list.slice(0, -1).map((a) => causeOf(a, d)),
    );

  const tasks = await sql<{ seq: number; rows: number; extra: number; most: number }[]>`
    select a.seq, count(*)::int as rows, sum(t.applications - 1)::int as extra,
           max(t.applications)::int as most
    from chaos_target t
    join (select distinct seq, first_id, last_id from chaos_attempts) a
      on t.id between a.first_id and a.last_id
    where t.applications > 1 group by a.seq order by a.seq`;
  const byCause = new Map<Cause, number>();
  const bad: string[] = [];
  for (const t of tasks) {
    const causes = cutBySeq.get(t.seq) ?? [];
    const explained = causes.filter((c) => c !== 'unexplained');
    if (explained.length === 0 || t.most - 1 > causes.length) {
      bad.push(
        `task ${t.seq}: ${t.rows} rows up to ${t.most}×, cut attempts [${causes.join(', ')}]`,
      );
    }
    const cause = explained[0] ?? 'unexplained';
    byCause.set(cause, (byCause.get(cause) ?? 0) + t.rows);
  }
  const rows = tasks.reduce((n, t) => n + t.rows, 0);
  return {
    check: {
      name: 're-applied rows only from cut attempts',
      ok: bad.length === 0,
      detail:
        bad.length === 0
          ? `${rows} rows in ${tasks.length} tasks, each task with a cut attempt`
          : bad.slice(0, 5).join('; '),
    },
    rows,
    extraApplications: tasks.reduce((n, t) => n + t.extra, 0),
    tasks: tasks.length,
    byCause,
    attempts: attempts.length,
    cutAttempts: [...cutBySeq.values()].reduce((n, c) => n + c.length, 0),
  };
}

/**
 * The most attempts that ran at once, from their logged start and end (an attempt a kill or exit
 * ended, ends with its process). Attempts of the cut worker that were in flight at the cut are
 * left out: the store took their tasks back, so they ran on without a claim until the link healed.
 */
export async function attemptOverlap(sql: Sql, d: Disruptions, endsFile?: string): Promise<number> {
  const attempts = await sql<{ id: string; pid: number; started: Date; ended: Date | null }[]>`
    select id, pid, started_at as started, ended_at as ended from chaos_attempts`;
  const deathOf = new Map(d.lives.map((l) => [l.pid, l.endedAt ?? Number.POSITIVE_INFINITY]));
  // Attempts cut short while the database was away logged their end to this file instead.
  const cutShort = new Map<string, number>();
  const ends = endsFile ? await readFile(endsFile, 'utf8').catch(() => '') : '';
  for (const line of ends.split('\n').filter(Boolean)) {
    const [id, at] = line.split(' ');
    cutShort.set(id as string, Number(at));
  }
  const edges: [number, number][] = [];
  const spans: { id: string; pid: number; from: number; to: number; how: string }[] = [];
  for (const a of attempts) {
    const started = a.started.getTime();
    if (d.cut?.pids.includes(a.pid) && started <= d.cut.cutAt) {
      const ended = a.ended?.getTime() ?? Number.POSITIVE_INFINITY;
      if (ended > d.cut.cutAt) continue;
    }
    const ended =
      a.ended?.getTime() ?? cutShort.get(a.id) ?? deathOf.get(a.pid) ?? Number.POSITIVE_INFINITY;
    edges.push([started, 1], [ended, -1]);
    const how = a.ended ? 'logged' : cutShort.has(a.id) ? 'cut short' : 'process end';
    spans.push({ id: a.id, pid: a.pid, from: started, to: ended, how });
  }
  // Ends before starts at the same instant: one task ending as the next starts is not overlap.
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let most = 0;
  let peakAt = 0;
  for (const [at, step] of edges) {
    now += step;
    if (now > most) [most, peakAt] = [now, at];
  }
  // Which attempts were alive at the peak, and how each one's end is known: for the log.
  const alive = spans.filter((s) => s.from <= peakAt && s.to > peakAt);
  process.stderr.write(
    `attempts alive at the peak (${new Date(peakAt).toISOString()}): ${alive
      .map(
        (s) =>
          `#${s.id} pid ${s.pid} ${new Date(s.from).toISOString().slice(11, 23)}-${Number.isFinite(s.to) ? new Date(s.to).toISOString().slice(11, 23) : 'never'} (${s.how})`,
      )
      .join('; ')}\n`,
  );
  return most;
}
