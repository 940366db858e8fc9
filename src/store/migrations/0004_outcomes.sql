-- Per-item results of chunk tasks. A chunk's outcomes are written in the same statement that
-- completes it, so they are there exactly when the task is done. `superseded` marks failures
-- that `sluice retry --failed-only` moved into a new task.
create table sluice.outcomes (
  job_id bigint not null references sluice.jobs (id) on delete cascade,
  task_seq int not null,
  idx int not null,
  item jsonb not null,
  ok boolean not null,
  value jsonb,
  status int,
  error text,
  attempt int not null,
  superseded boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (job_id, task_seq, idx)
);

-- Failed items are looked up by job when a retry re-plans them.
create index outcomes_failed on sluice.outcomes (job_id, task_seq) where not ok and not superseded;

-- How a finished task's items split; null for tasks without per-item outcomes (table ranges),
-- whose items all succeed or fail with the task.
alter table sluice.tasks add column ok_items bigint, add column failed_items bigint;
