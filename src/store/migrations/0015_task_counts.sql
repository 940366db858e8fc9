-- Tasks and items of each job by status, kept exact by triggers on sluice.tasks, so that progress,
-- `sluice status`, the dashboard and /metrics read a few rows instead of counting every task:
-- countTasks on a job of 1,000,000 tasks read 7,000+ buffers in ~100+ ms with count(*); it reads a
-- handful here, whatever the job's size (test/store/taskCountsCost.test.ts).
--
-- A job's counts are spread over shards, one per server backend modulo 16: a status change adds
-- its delta to its own backend's row, so concurrent claims and completions do not queue on one
-- row lock held until commit. A shard's own counts may go negative (a task claimed through one
-- backend and finished through another); only their sum per job means anything.
--
-- The columns follow countTasks (src/store/progress.ts): `<status>_tasks` counts tasks;
-- `done_items` sums coalesce(ok_items, items) of done tasks, `pending_items`, `running_items` and
-- `waiting_items` sum items; `failed_items` sums the items of failed tasks and the failed_items of
-- done ones.
create table sluice.task_counts (
  job_id bigint not null references sluice.jobs (id) on delete cascade,
  shard smallint not null,
  pending_tasks bigint not null default 0,
  pending_items bigint not null default 0,
  running_tasks bigint not null default 0,
  running_items bigint not null default 0,
  waiting_tasks bigint not null default 0,
  waiting_items bigint not null default 0,
  done_tasks bigint not null default 0,
  done_items bigint not null default 0,
  failed_tasks bigint not null default 0,
  failed_items bigint not null default 0,
  primary key (job_id, shard)
) with (fillfactor = 50); -- room on the page for HOT updates: each change writes a new version

-- The shard of the current backend: one backend's statements always land on the same row, so a
-- transaction touches one counter row per job and two transactions cannot deadlock on them.
create function sluice.task_count_shard() returns smallint
language sql stable parallel safe as $$ select (pg_backend_pid() % 16)::smallint $$;

-- What one task adds to its status's items, and to the failed items, as countTasks counts them.
-- Plain SQL expressions, so PostgreSQL inlines them into the queries below.
create function sluice.task_counted_items(status text, items bigint, ok_items bigint) returns bigint
language sql immutable parallel safe as $$
  select case status when 'done' then coalesce(ok_items, items) when 'failed' then 0 else items end
$$;
create function sluice.task_failed_items(status text, items bigint, failed_items bigint)
returns bigint language sql immutable parallel safe as $$
  select case status when 'done' then coalesce(failed_items, 0) when 'failed' then items else 0 end
$$;

-- A change in the counts of one job and status: tasks and items added (negative: removed).
create type sluice.task_count_delta as (
  job_id bigint, status text, tasks bigint, items bigint, failed_items bigint);

-- Adds deltas to the current backend's counter row of each job, in job order (so two
-- transactions lock rows of several jobs in the same order). Deltas that cancel out (a lease
-- renewal, a checkpoint, a claim refused) write nothing and lock no counter row.
create function sluice.add_task_counts(deltas sluice.task_count_delta[]) returns void
language plpgsql as $$
begin
  insert into sluice.task_counts as c
  select d.job_id, sluice.task_count_shard(),
    coalesce(sum(d.tasks) filter (where d.status = 'pending'), 0),
    coalesce(sum(d.items) filter (where d.status = 'pending'), 0),
    coalesce(sum(d.tasks) filter (where d.status = 'running'), 0),
    coalesce(sum(d.items) filter (where d.status = 'running'), 0),
    coalesce(sum(d.tasks) filter (where d.status = 'waiting'), 0),
    coalesce(sum(d.items) filter (where d.status = 'waiting'), 0),
    coalesce(sum(d.tasks) filter (where d.status = 'done'), 0),
    coalesce(sum(d.items) filter (where d.status = 'done'), 0),
    coalesce(sum(d.tasks) filter (where d.status = 'failed'), 0),
    coalesce(sum(d.failed_items), 0)
  from unnest(deltas) d
  group by d.job_id
  having bool_or(d.tasks <> 0 or d.items <> 0 or d.failed_items <> 0)
  order by d.job_id
  on conflict (job_id, shard) do update set
    pending_tasks = c.pending_tasks + excluded.pending_tasks,
    pending_items = c.pending_items + excluded.pending_items,
    running_tasks = c.running_tasks + excluded.running_tasks,
    running_items = c.running_items + excluded.running_items,
    waiting_tasks = c.waiting_tasks + excluded.waiting_tasks,
    waiting_items = c.waiting_items + excluded.waiting_items,
    done_tasks = c.done_tasks + excluded.done_tasks,
    done_items = c.done_items + excluded.done_items,
    failed_tasks = c.failed_tasks + excluded.failed_tasks,
    failed_items = c.failed_items + excluded.failed_items;
end
$$;

-- One statement-level trigger per kind of change, reading the statement's transition tables:
-- a plan of 1,000,000 tasks inserted in one statement updates one counter row once.
create function sluice.count_task_changes() returns trigger
language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    perform sluice.add_task_counts(array(
      select (job_id, status, count(*), sum(sluice.task_counted_items(status, items, ok_items))::bigint,
              sum(sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
      from new_rows group by job_id, status));
  elsif tg_op = 'UPDATE' then
    perform sluice.add_task_counts(array(
      select (job_id, status, sum(sign), sum(sign * sluice.task_counted_items(status, items, ok_items))::bigint,
              sum(sign * sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
      from (select 1 as sign, job_id, status, items, ok_items, failed_items from new_rows
            union all
            select -1, job_id, status, items, ok_items, failed_items from old_rows) d
      group by job_id, status));
  else
    -- Tasks deleted with their job (the foreign key's cascade) count for nothing: the job's
    -- counter rows go the same way, and no row may be added for a job that is gone.
    perform sluice.add_task_counts(array(
      select (job_id, status, -count(*), -sum(sluice.task_counted_items(status, items, ok_items))::bigint,
              -sum(sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
      from old_rows t
      where exists (select 1 from sluice.jobs j where j.id = t.job_id)
      group by job_id, status));
  end if;
  return null;
end
$$;

create trigger tasks_count_inserts after insert on sluice.tasks
referencing new table as new_rows for each statement execute function sluice.count_task_changes();
create trigger tasks_count_updates after update on sluice.tasks
referencing old table as old_rows new table as new_rows
for each statement execute function sluice.count_task_changes();
create trigger tasks_count_deletes after delete on sluice.tasks
referencing old table as old_rows for each statement execute function sluice.count_task_changes();

-- The jobs planned before this migration. The triggers above already hold sluice.tasks against
-- writers (ShareRowExclusiveLock, until this migration commits), so nothing changes under the count.
select sluice.add_task_counts(array(
  select (job_id, status, count(*), sum(sluice.task_counted_items(status, items, ok_items))::bigint,
          sum(sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
  from sluice.tasks group by job_id, status));
