-- Tasks created while a job runs: fan-out children, later pipeline stages, micro-batches.
--
-- `stage` names a pipeline stage (null: the first) or a child's kind; `depth` is the stage's
-- position (children: 1). A fan-out parent whose children run is `waiting`: not claimable, not
-- counted against the cap. `open_children` counts its unfinished children; `fan_in` says that
-- its next run is its fan-in.
alter table sluice.tasks
  add column stage text,
  add column depth int not null default 0,
  add column parent_seq int,
  add column open_children int not null default 0,
  add column fan_in boolean not null default false;

alter table sluice.tasks drop constraint tasks_status_check;
alter table sluice.tasks add constraint tasks_status_check
  check (status in ('pending', 'running', 'waiting', 'done', 'failed'));

-- `open`: the job's source may still append tasks (a micro-batch stream is flowing), so the job
-- is unfinished even with no task open. `feed_position` is where the stream resumes.
alter table sluice.jobs
  add column open boolean not null default false,
  add column feed_position text;

-- A fan-in reads its children; an idle pool asks whether any parent is waiting.
create index tasks_children on sluice.tasks (job_id, parent_seq) where parent_seq is not null;
create index tasks_waiting on sluice.tasks (job_id) where status = 'waiting';
-- Graph claims take the deepest runnable task first (see claim_graph_tasks).
create index tasks_pending_depth on sluice.tasks (job_id, depth desc, seq) where status = 'pending';

-- A child that finishes (done or failed for good) settles its parent in the same statement:
-- the child that brings open_children to 0 puts the parent back in the queue for its fan-in, so
-- exactly one worker runs it, whichever path finished the child (completion, failure, reclaim).
-- A child that reopens (`sluice retry`) makes its parent wait for it again, to fan in anew.
create function sluice.settle_parent() returns trigger
language plpgsql as $$
begin
  if new.status in ('done', 'failed') then
    update sluice.tasks set open_children = open_children - 1,
      status = case when open_children = 1 then 'pending' else status end, run_after = now()
    where job_id = new.job_id and seq = new.parent_seq and status = 'waiting';
  else
    update sluice.tasks set open_children = open_children + 1, status = 'waiting', report = null,
      finished_at = null, attempts = 0
    where job_id = new.job_id and seq = new.parent_seq and fan_in;
  end if;
  return null;
end
$$;

create trigger tasks_settle_parent after update of status on sluice.tasks
for each row when (new.parent_seq is not null
                   and (old.status in ('done', 'failed')) <> (new.status in ('done', 'failed')))
execute function sluice.settle_parent();

-- claim_tasks (0002) for jobs with stages or children: the same cap, but the deepest runnable
-- task goes first, so a pipeline's later stages consume outputs as they land and a started
-- fan-out finishes before new parents start. It also returns where each task sits in the graph.
create function sluice.claim_graph_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb,
               stage text, depth int, parent_seq int, fan_in boolean)
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
      order by t.depth desc, t.seq
      limit greatest(0, least(p_limit, v_cap - v_live))
      for update skip locked
    )
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now()
    from picked where t.job_id = p_job and t.seq = picked.seq
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint, t.stage,
      t.depth, t.parent_seq, t.fan_in;
end
$$;
