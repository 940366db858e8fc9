-- Tasks and items of each job by status, kept exact by triggers on sluice.tasks, so that progress,
-- `sluice status`, the dashboard and /metrics read a few rows instead of counting every task:
-- countTasks on a job of 1,000,000 tasks read 15,401 buffers in 323-454 ms with count(*)
-- (PostgreSQL 15, a busy machine); it reads 6 in 0.06-0.09 ms here, whatever the job's size
-- (test/store/taskCountsCost.test.ts).
--
-- Pending and running tasks are counted together, as `open`: a claim (pending to running), a
-- retry and a release (running to pending) change no counter. Claims hold the job row FOR UPDATE;
-- a claim that also took a counter row would wait behind a completion holding it, while that
-- completion waits for the job row (a foreign key check, a stage appending its next task):
-- measured, 8 claimers fell from 436 cycles/s to 2, in deadlocks. countTasks counts the running
-- tasks live instead, from the tasks_open index: at most the job's cap of them, whatever its size.
--
-- A job's counts are spread over shards, one per server backend modulo 64: a completion adds its
-- delta to its own backend's row, so concurrent completions do not queue on one row lock held
-- until commit, and one backend's statements always land on the same row (a transaction never
-- holds two counter rows of a job, so two cannot deadlock on them). A shard's own counts may go
-- negative (a task planned through one backend and finished through another); only their sum per
-- job means anything.
--
-- The columns follow countTasks (src/store/progress.ts): `<class>_tasks` counts tasks;
-- `done_items` sums coalesce(ok_items, items) of done tasks, `open_items` and `waiting_items` sum
-- items; `failed_items` sums the items of failed tasks and the failed_items of done ones.
--
-- No foreign key to sluice.jobs: its check would take a key-share lock on the job row whenever a
-- completion adds a job's first row for its shard, and a claim waiting for that row FOR UPDATE
-- then closes a cycle with completions waiting on each other's counter rows (bench:claims saw such
-- deadlocks). The rows of a deleted job go with it through the trigger at the end.
create table sluice.task_counts (
  job_id bigint not null,
  shard smallint not null,
  open_tasks bigint not null default 0,
  open_items bigint not null default 0,
  waiting_tasks bigint not null default 0,
  waiting_items bigint not null default 0,
  done_tasks bigint not null default 0,
  done_items bigint not null default 0,
  failed_tasks bigint not null default 0,
  failed_items bigint not null default 0,
  primary key (job_id, shard)
) with (fillfactor = 50); -- room on the page for HOT updates: each change writes a new version

-- The shard of the current backend.
create function sluice.task_count_shard() returns smallint
language sql stable parallel safe as $$ select (pg_backend_pid() % 64)::smallint $$;

-- Which counter a status counts in, and what one task adds to its items and to the failed items,
-- as countTasks counts them. Plain SQL expressions, so PostgreSQL inlines them below.
create function sluice.task_count_class(status text) returns text
language sql immutable parallel safe as $$
  select case when status in ('pending', 'running') then 'open' else status end
$$;
create function sluice.task_counted_items(status text, items bigint, ok_items bigint) returns bigint
language sql immutable parallel safe as $$
  select case status when 'done' then coalesce(ok_items, items) when 'failed' then 0 else items end
$$;
create function sluice.task_failed_items(status text, items bigint, failed_items bigint)
returns bigint language sql immutable parallel safe as $$
  select case status when 'done' then coalesce(failed_items, 0) when 'failed' then items else 0 end
$$;

-- A change in the counts of one job and class: tasks and items added (negative: removed).
create type sluice.task_count_delta as (
  job_id bigint, class text, tasks bigint, items bigint, failed_items bigint);

-- Adds deltas to the current backend's counter row of each job, in job order (so two
-- transactions lock rows of several jobs in the same order).
create function sluice.add_task_counts(deltas sluice.task_count_delta[]) returns void
language plpgsql as $$
begin
  insert into sluice.task_counts as c
  select d.job_id, sluice.task_count_shard(),
    coalesce(sum(d.tasks) filter (where d.class = 'open'), 0),
    coalesce(sum(d.items) filter (where d.class = 'open'), 0),
    coalesce(sum(d.tasks) filter (where d.class = 'waiting'), 0),
    coalesce(sum(d.items) filter (where d.class = 'waiting'), 0),
    coalesce(sum(d.tasks) filter (where d.class = 'done'), 0),
    coalesce(sum(d.items) filter (where d.class = 'done'), 0),
    coalesce(sum(d.tasks) filter (where d.class = 'failed'), 0),
    coalesce(sum(d.failed_items), 0)
  from unnest(deltas) d
  group by d.job_id
  order by d.job_id
  on conflict (job_id, shard) do update set
    open_tasks = c.open_tasks + excluded.open_tasks,
    open_items = c.open_items + excluded.open_items,
    waiting_tasks = c.waiting_tasks + excluded.waiting_tasks,
    waiting_items = c.waiting_items + excluded.waiting_items,
    done_tasks = c.done_tasks + excluded.done_tasks,
    done_items = c.done_items + excluded.done_items,
    failed_tasks = c.failed_tasks + excluded.failed_tasks,
    failed_items = c.failed_items + excluded.failed_items;
end
$$;

-- One statement-level trigger per kind of change, reading the statement's transition tables: a
-- plan of 1,000,000 tasks inserted in one statement updates one counter row once. (A row-level
-- trigger updates it once per task, and each update in one transaction walks every version the
-- transaction left before it: 2.1 s for 10,000 tasks, 4.7-6.2 s for 20,000, not done after 13
-- minutes for 1,000,000; the statement-level one added 1-5 s to an 8-12 s insert of 1,000,000.)
-- Deltas that cancel out (a claim, a retry, a lease renewal, a checkpoint) write nothing and lock
-- no counter row.
create function sluice.count_task_changes() returns trigger
language plpgsql as $$
declare
  v_deltas sluice.task_count_delta[];
begin
  if tg_op = 'INSERT' then
    v_deltas := array(
      select (job_id, sluice.task_count_class(status), count(*),
              sum(sluice.task_counted_items(status, items, ok_items))::bigint,
              sum(sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
      from new_rows group by job_id, sluice.task_count_class(status));
  elsif tg_op = 'UPDATE' then
    v_deltas := array(
      select (job_id, sluice.task_count_class(status), sum(sign),
              sum(sign * sluice.task_counted_items(status, items, ok_items))::bigint,
              sum(sign * sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
      from (select 1 as sign, job_id, status, items, ok_items, failed_items from new_rows
            union all
            select -1, job_id, status, items, ok_items, failed_items from old_rows) d
      group by job_id, sluice.task_count_class(status)
      having sum(sign) <> 0
        or sum(sign * sluice.task_counted_items(status, items, ok_items)) <> 0
        or sum(sign * sluice.task_failed_items(status, items, failed_items)) <> 0);
  else
    -- Tasks deleted with their job (the foreign key's cascade) count for nothing: the job's
    -- counter rows go with it (below), and no row may be added for a job that is gone.
    v_deltas := array(
      select (job_id, sluice.task_count_class(status), -count(*),
              -sum(sluice.task_counted_items(status, items, ok_items))::bigint,
              -sum(sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
      from old_rows t
      where exists (select 1 from sluice.jobs j where j.id = t.job_id)
      group by job_id, sluice.task_count_class(status));
  end if;
  if cardinality(v_deltas) > 0 then
    perform sluice.add_task_counts(v_deltas);
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

-- A deleted job's counts go with it, and so does its completions rollup (0014): neither table has
-- a foreign key to sluice.jobs.
create function sluice.drop_job_rollups() returns trigger
language plpgsql as $$
begin
  delete from sluice.task_counts c using gone_jobs g where c.job_id = g.id;
  delete from sluice.task_throughput r using gone_jobs g where r.job_id = g.id;
  return null;
end
$$;
create trigger jobs_drop_rollups after delete on sluice.jobs
referencing old table as gone_jobs for each statement execute function sluice.drop_job_rollups();

-- The jobs planned before this migration. The triggers above already hold sluice.tasks against
-- writers (ShareRowExclusiveLock, until this migration commits), so nothing changes under the count.
select sluice.add_task_counts(array(
  select (job_id, sluice.task_count_class(status), count(*),
          sum(sluice.task_counted_items(status, items, ok_items))::bigint,
          sum(sluice.task_failed_items(status, items, failed_items))::bigint)::sluice.task_count_delta
  from sluice.tasks group by job_id, sluice.task_count_class(status)));
