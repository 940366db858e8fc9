-- Claims whose plans do not depend on statistics. Under 0007 and 0008 the claim's update joined
-- the picked rows back to sluice.tasks; with statistics taken while the table was nearly empty,
-- PL/pgSQL's cached generic plan (LIMIT unknown: 10% of the job's rows assumed) turned that join
-- into a Seq Scan and a Hash Join over the whole table: 486 buffers and 3.4 ms a claim with 5,000
-- tasks, growing with every finished task any job leaves behind. With statistics taken on an
-- empty table, the pick read every pending task of the job through a bitmap and sorted them (129
-- buffers a claim with 5,000 pending); with statistics taken while every task was pending, it
-- walked the primary key through the job's finished tasks, one more page per few tasks done.
--
-- Now each statement has one access path left, whatever the statistics say:
-- - the pick reads the job's pending tasks from tasks_pending_depth (job_id, depth desc, seq) in
--   that index's order, LIMITed and locked with SKIP LOCKED, into an array. With sorting turned
--   off for the function, no other index can serve that order: the primary key and tasks_open
--   would need a Sort. A job claimed through claim_tasks has no stages, so all its tasks have
--   depth 0 and this order is plan order (seq), as before;
-- - the update finds its rows by primary key, `(job_id, seq) = (p_job, any(array))`, with no join;
-- - at a cap of 1 the first task is found the same way, then locked by primary key.
-- On PostgreSQL 15 to 17 a disabled sort still plans, at a cost of 10^10, which is above every JIT
-- threshold: the triggers' own `order by` (0014, 0015) then JIT-compiled on each claim, 170-420 ms
-- a claim instead of 1-5. Hence `jit = off` too: no statement of a claim is worth compiling.
-- test/store/plans*.test.ts measure each statement's buffers with 1,000,000 finished tasks of
-- other jobs and statistics taken on an empty table, or while the job's tasks were all pending.
--
-- Everything else is as in 0007 and 0008: the job row lock (only 'running' jobs hand out work), a
-- fresh count of running tasks under the cap, ordered claims at a cap of 1, SKIP LOCKED, the lease
-- and an epoch bump on every claim.
create or replace function sluice.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb)
language plpgsql volatile
set enable_sort = off set jit = off
as $$
#variable_conflict use_column
declare
  v_cap int;
  v_live int;
  v_room int;
  v_first int;
  v_first_at timestamptz;
  v_picked int[];
begin
  select j.max_parallelism into v_cap from sluice.jobs j
  where j.id = p_job and j.status = 'running' for update;
  if not found then
    return;
  end if;
  -- A new statement, so a fresh snapshot: it sees the claims of whoever held the lock before us.
  select count(*) into v_live from sluice.tasks t where t.job_id = p_job and t.status = 'running';
  v_room := greatest(0, least(p_limit, v_cap - v_live));
  if v_room = 0 then
    return;
  end if;
  if v_cap = 1 then
    -- One probe: the first pending task, runnable or not. That task or nothing: SKIP LOCKED must
    -- not skip past it.
    select t.seq, t.run_after into v_first, v_first_at from sluice.tasks t
    where t.job_id = p_job and t.status = 'pending' order by t.depth desc, t.seq limit 1;
    if v_first is null or v_first_at > now() then
      return;
    end if;
    v_picked := array(
      select t.seq from sluice.tasks t
      where t.job_id = p_job and t.seq = v_first and t.status = 'pending'
      for update skip locked);
  else
    v_picked := array(
      select t.seq from sluice.tasks t
      where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
      order by t.depth desc, t.seq
      limit v_room
      for update skip locked);
  end if;
  if cardinality(v_picked) = 0 then
    return;
  end if;
  return query
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now()
    where t.job_id = p_job and t.seq = any(v_picked) and t.status = 'pending'
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint;
end
$$;

-- Deepest runnable task first, as in 0008, in the same way.
create or replace function sluice.claim_graph_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb,
               stage text, depth int, parent_seq int, fan_in boolean)
language plpgsql volatile
set enable_sort = off set jit = off
as $$
#variable_conflict use_column
declare
  v_cap int;
  v_live int;
  v_room int;
  v_picked int[];
begin
  select j.max_parallelism into v_cap from sluice.jobs j
  where j.id = p_job and j.status = 'running' for update;
  if not found then
    return;
  end if;
  select count(*) into v_live from sluice.tasks t where t.job_id = p_job and t.status = 'running';
  v_room := greatest(0, least(p_limit, v_cap - v_live));
  if v_room = 0 then
    return;
  end if;
  v_picked := array(
    select t.seq from sluice.tasks t
    where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
    order by t.depth desc, t.seq
    limit v_room
    for update skip locked);
  if cardinality(v_picked) = 0 then
    return;
  end if;
  return query
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now()
    where t.job_id = p_job and t.seq = any(v_picked) and t.status = 'pending'
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint, t.stage,
      t.depth, t.parent_seq, t.fan_in;
end
$$;
