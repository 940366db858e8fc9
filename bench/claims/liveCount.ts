// (b) A live count on the job row: a claim first picks its tasks with SKIP LOCKED (no job lock
// yet), then takes room with `update jobs set live = live + n where live + n <= cap`, which waits
// for and re-checks the newest row version, so the count never passes the cap. Every way out of
// 'running' gives the room back in the same transaction, through a trigger on the task, so
// completion, failure, release and reclaim statements need no change. The row lock is
// FOR NO KEY UPDATE: foreign-key checks do not wait on it, but claims and completions do.
import type { Sql } from 'postgres';
import { claimIn, claimSet, completeIn, type Design } from './design.ts';
import { createScratchJob, createScratchSchema } from './scratch.ts';

export async function liveCountDesign(sql: Sql): Promise<Design> {
  const s = await createScratchSchema(sql, 'b_live');
  await sql.unsafe(`
    alter table ${s}.jobs add column live int not null default 0;

    create function ${s}.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
    returns table (seq int, epoch int) language plpgsql volatile as $$
    #variable_conflict use_column
    declare
      v_seqs int[];
      v_n int;
      v_room int;
    begin
      select array_agg(p.seq order by p.seq) into v_seqs from (
        select t.seq from ${s}.tasks t
        where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
        order by t.seq limit p_limit
        for update skip locked) p;
      v_n := coalesce(cardinality(v_seqs), 0);
      if v_n = 0 then
        return;
      end if;
      update ${s}.jobs j set live = j.live + v_n
      where j.id = p_job and j.status = 'running' and j.live + v_n <= j.max_parallelism;
      if not found then
        -- Less room than tasks picked (only with p_limit > 1): take what there is.
        select j.max_parallelism - j.live into v_room from ${s}.jobs j
        where j.id = p_job and j.status = 'running' for no key update;
        v_n := least(v_n, coalesce(v_room, 0));
        if v_n <= 0 then
          return;
        end if;
        update ${s}.jobs j set live = j.live + v_n where j.id = p_job;
      end if;
      return query
        update ${s}.tasks t set ${claimSet('t')}
        where t.job_id = p_job and t.seq = any(v_seqs[1:v_n])
        returning t.seq, t.epoch;
    end $$;

    create function ${s}.give_back_room() returns trigger language plpgsql as $$
    begin
      update ${s}.jobs set live = live - 1 where id = old.job_id;
      return null;
    end $$;

    create trigger tasks_give_back_room after update of status on ${s}.tasks
    for each row when (old.status = 'running' and new.status <> 'running')
    execute function ${s}.give_back_room();`);
  return {
    key: 'b-live',
    label: 'live count on the job row, `where live + n <= cap`, trigger gives room back',
    capped: true,
    schema: s,
    createJob: (cap, tasks) => createScratchJob(sql, s, cap, tasks),
    claim: (db, jobId, owner) => claimIn(db, s, jobId, owner),
    complete: (db, jobId, task) => completeIn(db, s, jobId, task),
    async check(db, jobId) {
      const [row] = await db.unsafe<{ live: number; running: number }[]>(
        `select j.live, (select count(*)::int from ${s}.tasks t
                         where t.job_id = j.id and t.status = 'running') as running
         from ${s}.jobs j where j.id = $1`,
        [jobId],
      );
      return row && row.live !== row.running
        ? `live ${row.live} but ${row.running} running`
        : undefined;
    },
  };
}
