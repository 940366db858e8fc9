// The baseline: a plain SKIP LOCKED claim of one pending task, no cap and no job row, in the same
// plpgsql wrapper and with the same update as sluice's claim so only the cap's cost differs.
import type { Sql } from 'postgres';
import { claimIn, claimSet, completeIn, type Design } from './design.ts';
import { createScratchJob, createScratchSchema } from './scratch.ts';

export async function plainDesign(sql: Sql): Promise<Design> {
  const s = await createScratchSchema(sql, 'plain');
  await sql.unsafe(`
    create function ${s}.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
    returns table (seq int, epoch int) language plpgsql volatile as $$
    #variable_conflict use_column
    begin
      return query
        with picked as (
          select t.seq from ${s}.tasks t
          where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
          order by t.seq limit p_limit
          for update skip locked
        )
        update ${s}.tasks t set ${claimSet('t')}
        from picked where t.job_id = p_job and t.seq = picked.seq
        returning t.seq, t.epoch;
    end $$;`);
  return {
    key: 'plain',
    label: 'baseline: plain SKIP LOCKED, no cap',
    capped: false,
    schema: s,
    createJob: (cap, tasks) => createScratchJob(sql, s, cap, tasks),
    claim: (db, jobId, owner) => claimIn(db, s, jobId, owner),
    complete: (db, jobId, task) => completeIn(db, s, jobId, task),
  };
}
