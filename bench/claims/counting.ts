// Variants of today's claim (migration 0007: lock the job row, count the running tasks, claim with
// SKIP LOCKED) in a scratch schema, each changing one thing:
//   a-nokey   the job row FOR NO KEY UPDATE: still one claimer at a time, but foreign-key
//             checks (outcome and dead-letter inserts) take FOR KEY SHARE, which no longer waits;
//   a-async   FOR UPDATE, and the claim commits without waiting for its WAL flush, so the row
//             lock is held for the statement only, not the fsync;
//   d-advisory  the job row read without a lock, claims serialised by a transaction advisory lock
//             on the job instead: the same queue as (a), but nothing else waits on it;
//   d-nolock  the job row read without a lock: nothing orders the counts, so the cap can break.
//             The negative control for the cap check.
import type { Sql } from 'postgres';
import { claimIn, claimSet, completeIn, type Design } from './design.ts';
import { createScratchJob, createScratchSchema } from './scratch.ts';

interface Variant {
  key: string;
  label: string;
  jobLock: '' | 'for update' | 'for no key update' | 'advisory';
  asyncCommit: boolean;
}

export const countingVariants: Variant[] = [
  {
    key: 'a-nokey',
    label: 'as (a), job row FOR NO KEY UPDATE',
    jobLock: 'for no key update',
    asyncCommit: false,
  },
  {
    key: 'a-async',
    label: 'as (a), claim commits with synchronous_commit off',
    jobLock: 'for update',
    asyncCommit: true,
  },
  {
    key: 'd-advisory',
    label: 'as (a), job row not locked, pg_advisory_xact_lock on the job instead',
    jobLock: 'advisory',
    asyncCommit: false,
  },
  {
    key: 'd-nolock',
    label: 'as (a), job row not locked (expected to break the cap)',
    jobLock: '',
    asyncCommit: false,
  },
];

export async function countingDesign(sql: Sql, v: Variant): Promise<Design> {
  const s = await createScratchSchema(sql, v.key.replace('-', '_'));
  await sql.unsafe(`
    create function ${s}.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
    returns table (seq int, epoch int) language plpgsql volatile as $$
    #variable_conflict use_column
    declare
      v_cap int;
      v_live int;
      v_room int;
      v_first int;
      v_first_at timestamptz;
    begin
      ${v.asyncCommit ? "perform set_config('synchronous_commit', 'off', true);" : ''}
      ${v.jobLock === 'advisory' ? "perform pg_advisory_xact_lock(hashtextextended('bench.claim:' || p_job, 0));" : ''}
      select j.max_parallelism into v_cap from ${s}.jobs j
      where j.id = p_job and j.status = 'running' ${v.jobLock === 'advisory' ? '' : v.jobLock};
      if not found then
        return;
      end if;
      select count(*) into v_live from ${s}.tasks t where t.job_id = p_job and t.status = 'running';
      v_room := greatest(0, least(p_limit, v_cap - v_live));
      if v_room = 0 then
        return;
      end if;
      if v_cap = 1 then
        select t.seq, t.run_after into v_first, v_first_at from ${s}.tasks t
        where t.job_id = p_job and t.status = 'pending' order by t.seq limit 1;
        if v_first is null or v_first_at > now() then
          return;
        end if;
      end if;
      return query
        with picked as (
          select t.seq from ${s}.tasks t
          where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
            and (v_first is null or t.seq = v_first)
          order by t.seq
          limit v_room
          for update skip locked
        )
        update ${s}.tasks t set ${claimSet('t')}
        from picked where t.job_id = p_job and t.seq = picked.seq
        returning t.seq, t.epoch;
    end $$;`);
  return {
    key: v.key,
    label: v.label,
    capped: true,
    schema: s,
    createJob: (cap, tasks) => createScratchJob(sql, s, cap, tasks),
    claim: (db, jobId, owner) => claimIn(db, s, jobId, owner),
    complete: (db, jobId, task) => completeIn(db, s, jobId, task),
  };
}
