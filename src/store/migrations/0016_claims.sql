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
-- - the pick returns the locked rows' ctids, and the update reads them by a Tid Scan, the only path
--   its condition leaves. Finding them again by `job_id = p_job and seq = any(picked) and status =
--   'pending'` matched tasks_pending_depth, and with statistics taken while the job was small the
--   planner walked that index through every pending task: 364 buffers and 3.4 ms for a claim of 8
--   with 20,000 pending (PostgreSQL 15), against 22 and 0.08 ms by ctid. The rows cannot change
--   under it: this transaction holds them FOR UPDATE from the pick on (the pick locks the latest
--   version of each row and returns that version's ctid);
-- - at a cap of 1 the first task is found the same way, then locked.
-- On PostgreSQL 15 to 17 a disabled sort still plans, at a cost of 10^10, which is above every JIT
-- threshold: the triggers' own `order by` (0014, 0015) then JIT-compiled on each claim, 170-420 ms
-- a claim instead of 1-5. Hence `jit = off` too: no statement of a claim is worth compiling.
-- test/store/plans*.test.ts measure each statement's buffers with 1,000,000 finished tasks of
-- other jobs and statistics taken on an empty table, or while the job's tasks were all pending.
--
-- Everything else is as in 0007 and 0008: the job row lock (only 'running' jobs hand out work), a
-- fresh count of running tasks under the cap, ordered claims at a cap of 1, SKIP LOCKED, the lease
-- and an epoch bump on every claim; the cap's room is now also a fair share (below).

-- A fair share of the cap for every process that wants the job's tasks. A process claims again
-- the moment one of its tasks ends, so one whose concurrency reached the cap kept every slot, and
-- a process that joined later (another machine's worker, a second `sluice run`) found the cap
-- full at each of its polls: it never ran a task. Now a process whose claim finds no room says
-- so on its row of sluice.processes (waiting_job, waiting_since), and a claim takes at most the
-- cap split evenly among the processes holding the job's tasks and those that waited in the last
-- 5 s, itself included. A process above its share keeps its running tasks and claims no more
-- until it is under it; the slot it leaves goes to a waiter at the waiter's next poll (within 2 s).
-- (The columns are made with the table, in 0014.)

-- How many tasks the process may claim now: its free workers, under the cap's room and its share.
-- Called with the job row locked, so two claims never count at once. Every count reads at most the
-- job's running tasks (bounded by the cap) or the processes table.
create function sluice.claim_room(p_job bigint, p_owner int, p_limit int, p_cap int)
returns int language plpgsql volatile
set enable_sort = off set jit = off
as $$
declare
  v_live int;
  v_mine int;
  v_holders int;
  v_waiters int;
  v_room int;
begin
  select count(*), count(*) filter (where t.owner = p_owner),
    count(distinct t.owner) filter (where t.owner <> p_owner)
  into v_live, v_mine, v_holders
  from sluice.tasks t where t.job_id = p_job and t.status = 'running';
  select count(*) into v_waiters from sluice.processes p
  where p.waiting_job = p_job and p.waiting_since > now() - interval '5 seconds' and p.id <> p_owner
    and not exists (select 1 from sluice.tasks t
                    where t.job_id = p_job and t.status = 'running' and t.owner = p.id);
  v_room := greatest(0, least(p_limit, p_cap - v_live,
                              ceil(p_cap::numeric / (v_holders + v_waiters + 1))::int - v_mine));
  if v_room = 0 then
    update sluice.processes set waiting_job = p_job, waiting_since = now() where id = p_owner;
  else
    update sluice.processes set waiting_job = null, waiting_since = null
    where id = p_owner and waiting_job is not null;
  end if;
  return v_room;
end
$$;

create or replace function sluice.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb)
language plpgsql volatile
set enable_sort = off set jit = off
as $$
#variable_conflict use_column
declare
  v_cap int;
  v_room int;
  v_first int;
  v_first_at timestamptz;
  v_picked tid[];
begin
  select j.max_parallelism into v_cap from sluice.jobs j
  where j.id = p_job and j.status = 'running' for update;
  if not found then
    return;
  end if;
  -- A new statement, so a fresh snapshot: it sees the claims of whoever held the lock before us.
  v_room := sluice.claim_room(p_job, p_owner, p_limit, v_cap);
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
      select t.ctid from sluice.tasks t
      where t.job_id = p_job and t.seq = v_first and t.status = 'pending'
      for update skip locked);
  else
    v_picked := array(
      select t.ctid from sluice.tasks t
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
    where t.ctid = any(v_picked)
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint;
end
$$;

-- The same for tasks of pipelines and fan-outs.
create or replace function sluice.claim_graph_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb,
               stage text, depth int, parent_seq int, fan_in boolean)
language plpgsql volatile
set enable_sort = off set jit = off
as $$
#variable_conflict use_column
declare
  v_cap int;
  v_room int;
  v_picked tid[];
begin
  select j.max_parallelism into v_cap from sluice.jobs j
  where j.id = p_job and j.status = 'running' for update;
  if not found then
    return;
  end if;
  v_room := sluice.claim_room(p_job, p_owner, p_limit, v_cap);
  if v_room = 0 then
    return;
  end if;
  v_picked := array(
    select t.ctid from sluice.tasks t
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
    where t.ctid = any(v_picked)
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint, t.stage,
      t.depth, t.parent_seq, t.fan_in;
end
$$;
