-- Claims that update the rows they locked by their tuple id. Under 0016 the claim's update found
-- its rows by `job_id = p_job and seq = any(picked) and status = 'pending'`; that condition
-- matches the partial index tasks_pending_depth, and with statistics taken while the job was
-- small the planner walked that index through every pending task of the job, filtering on seq:
-- 364 buffers and 3.4 ms for a claim of 8 with 20,000 pending (PostgreSQL 15), the cost of a
-- one-item task's claim. The pick now returns the locked rows' ctids, and the update reads them
-- by a Tid Scan, the only path its condition leaves: 22 buffers, 0.08 ms. Those rows cannot
-- change under it: this transaction holds them FOR UPDATE from the pick on (the pick locks the
-- latest version of each row and returns that version's ctid).
--
-- Everything else is as in 0016.
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
  v_picked tid[];
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
  v_live int;
  v_room int;
  v_picked tid[];
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
