// (c) A row per cap slot: a claim takes free slots with SKIP LOCKED, then as many pending tasks
// with SKIP LOCKED, and writes each task's seq into its slot. A slot is free exactly when its seq
// is null, and FOR UPDATE re-checks `seq is null` on the newest version of a row another claim
// just committed, so at most `cap` tasks hold a slot. Claimers never wait for one another: each
// skips the slots and tasks others hold. Every way out of 'running' frees the slot in the same
// transaction, through a trigger on the task.
//   c-share   reads the job row FOR SHARE: claimers share it, but a pause or cancel (an update
//             of the row) waits for claims in flight, and claims after it see it, as today;
//   c-keyshare  reads it FOR KEY SHARE, the lock a foreign-key check takes: only FOR UPDATE
//             waits for it, so a pause or cancel that locks the row FOR UPDATE first keeps
//             today's order, while updates of other columns (task counts) never wait;
//   c-nolock  reads the job row without a lock: a claim that read 'running' may commit just
//             after a pause did.
import type { Sql } from 'postgres';
import { claimIn, claimSet, completeIn, type Design } from './design.ts';
import { createScratchSchema, createSlottedJob } from './scratch.ts';

interface Variant {
  key: string;
  label: string;
  jobLock: '' | 'for share' | 'for key share';
  /** The task row keeps its slot's number: freed by primary key, no index on slots.seq. */
  slotOnTask: boolean;
  /** Scan for a free slot from a random one (wrapping), not from slot 1 past every held one. */
  spread?: boolean;
}

export const slotVariants: Variant[] = [
  {
    key: 'c-share',
    label: 'a row per cap slot, SKIP LOCKED; job row FOR SHARE',
    jobLock: 'for share',
    slotOnTask: false,
  },
  {
    key: 'c-keyshare',
    label: 'a row per cap slot, SKIP LOCKED; job row FOR KEY SHARE',
    jobLock: 'for key share',
    slotOnTask: false,
  },
  {
    key: 'c-nolock',
    label: 'a row per cap slot, SKIP LOCKED; job row not locked',
    jobLock: '',
    slotOnTask: false,
  },
  {
    key: 'c-taskslot',
    label:
      'as c-keyshare, the task keeps its slot number: freed by primary key, slots.seq unindexed (HOT updates)',
    jobLock: 'for key share',
    slotOnTask: true,
  },
  {
    key: 'c-spread',
    label: 'as c-taskslot, the search for a free slot starts at a random slot',
    jobLock: 'for key share',
    slotOnTask: true,
    spread: true,
  },
];

export async function slotsDesign(sql: Sql, v: Variant): Promise<Design> {
  const s = await createScratchSchema(sql, v.key.replace('-', '_'));
  await sql.unsafe(`
    create table ${s}.slots (
      job_id bigint not null references ${s}.jobs (id) on delete cascade,
      slot int not null,
      seq int,
      primary key (job_id, slot)
    );
    ${
      v.slotOnTask
        ? `alter table ${s}.tasks add column if not exists slot int;`
        : `-- Completions free a slot by the task's seq.
           create unique index slots_seq on ${s}.slots (job_id, seq);`
    }

    create function ${s}.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
    returns table (seq int, epoch int) language plpgsql volatile as $$
    #variable_conflict use_column
    declare
      v_slots int[];
      v_seqs int[];
      v_from int := 1;
    begin
      select ${v.spread ? '1 + floor(random() * j.max_parallelism)::int' : '1'} into v_from
      from ${s}.jobs j where j.id = p_job and j.status = 'running' ${v.jobLock};
      if not found then
        return;
      end if;
      select array_agg(f.slot) into v_slots from (
        select sl.slot from ${s}.slots sl
        where sl.job_id = p_job and sl.seq is null and sl.slot >= v_from
        order by sl.slot limit p_limit
        for update skip locked) f;
      if v_slots is null and v_from > 1 then
        select array_agg(f.slot) into v_slots from (
          select sl.slot from ${s}.slots sl
          where sl.job_id = p_job and sl.seq is null and sl.slot < v_from
          order by sl.slot limit p_limit
          for update skip locked) f;
      end if;
      if v_slots is null then
        return;
      end if;
      select array_agg(p.seq order by p.seq) into v_seqs from (
        select t.seq from ${s}.tasks t
        where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
        order by t.seq limit cardinality(v_slots)
        for update skip locked) p;
      if v_seqs is null then
        return;
      end if;
      update ${s}.slots sl set seq = v_seqs[u.i]
      from unnest(v_slots) with ordinality as u(slot, i)
      where sl.job_id = p_job and sl.slot = u.slot and u.i <= cardinality(v_seqs);
      return query
        update ${s}.tasks t set ${claimSet('t')}
          ${v.slotOnTask ? ', slot = v_slots[array_position(v_seqs, t.seq)]' : ''}
        where t.job_id = p_job and t.seq = any(v_seqs)
        returning t.seq, t.epoch;
    end $$;

    create function ${s}.free_slot() returns trigger language plpgsql as $$
    begin
      update ${s}.slots set seq = null
      where job_id = old.job_id and seq = old.seq ${v.slotOnTask ? 'and slot = old.slot' : ''};
      return null;
    end $$;

    create trigger tasks_free_slot after update of status on ${s}.tasks
    for each row when (old.status = 'running' and new.status <> 'running')
    execute function ${s}.free_slot();`);
  return {
    key: v.key,
    label: v.label,
    capped: true,
    schema: s,
    createJob: (cap, tasks) => createSlottedJob(sql, s, cap, tasks),
    claim: (db, jobId, owner) => claimIn(db, s, jobId, owner),
    complete: (db, jobId, task) => completeIn(db, s, jobId, task),
    async check(db, jobId) {
      const [row] = await db.unsafe<{ held: number; running: number; unmatched: number }[]>(
        `select count(*) filter (where sl.seq is not null)::int as held,
           (select count(*)::int from ${s}.tasks t where t.job_id = $1 and t.status = 'running') as running,
           count(*) filter (where sl.seq is not null and not exists (
             select 1 from ${s}.tasks t where t.job_id = $1 and t.seq = sl.seq and t.status = 'running'))::int as unmatched
         from ${s}.slots sl where sl.job_id = $1`,
        [jobId],
      );
      if (!row) return 'no slots';
      if (row.held !== row.running || row.unmatched > 0) {
        return `${row.held} slots held, ${row.running} running, ${row.unmatched} held by no running task`;
      }
      return undefined;
    },
  };
}
