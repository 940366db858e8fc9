-- Claims up to p_limit runnable tasks in one round trip, never letting the job's running tasks
-- exceed its cap across all processes. The job row lock is taken in one statement and the running
-- tasks are counted in the next: in a volatile function each statement takes a fresh snapshot, so
-- the count includes the claims of whoever held the lock before us. (A single SQL statement would
-- count with a snapshot from before the lock wait, and overshoot the cap.)
-- It replaces a client-side transaction of four round trips (begin, lock, claim, commit).
create function sluice.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb)
language plpgsql volatile as $$
#variable_conflict use_column
declare
  v_cap int;
  v_live int;
begin
  select j.max_parallelism into v_cap from sluice.jobs j
  where j.id = p_job and j.status = 'running' for update;
  if not found then
    return;
  end if;
  select count(*) into v_live from sluice.tasks t where t.job_id = p_job and t.status = 'running';
  return query
    with picked as (
      select t.seq from sluice.tasks t
      where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
      order by t.seq
      limit greatest(0, least(p_limit, v_cap - v_live))
      for update skip locked
    )
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now()
    from picked where t.job_id = p_job and t.seq = picked.seq
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint;
end
$$;
