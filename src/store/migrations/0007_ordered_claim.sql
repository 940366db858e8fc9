-- Sequential jobs (max_parallelism 1) run their tasks strictly in plan order. Under 0002 a task
-- waiting out its retry backoff let the next pending task overtake it. Now, at a cap of 1, only
-- the first pending task in seq order may be claimed, and only once its run_after has passed;
-- until then nothing is claimed. (No task can be running below it: the cap of 1 would be full.)
-- Everything else is as in 0002: the job row lock (only 'running' jobs hand out work), a fresh
-- count of running tasks under the cap, SKIP LOCKED, and an epoch bump on every claim.
create or replace function sluice.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_cap int;
  v_live int;
  v_room int;
  v_first int;
  v_first_at timestamptz;
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
    -- One probe of the tasks_open index: the first pending task, runnable or not.
    select t.seq, t.run_after into v_first, v_first_at from sluice.tasks t
    where t.job_id = p_job and t.status = 'pending' order by t.seq limit 1;
    if v_first is null or v_first_at > now() then
      return;
    end if;
  end if;
  return query
    with picked as (
      select t.seq from sluice.tasks t
      where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
        -- At a cap of 1, that first task or nothing: SKIP LOCKED must not skip past it.
        and (v_first is null or t.seq = v_first)
      order by t.seq
      limit v_room
      for update skip locked
    )
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now()
    from picked where t.job_id = p_job and t.seq = picked.seq
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint;
end
$$;
