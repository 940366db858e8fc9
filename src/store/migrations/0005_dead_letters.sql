-- Items that failed for good: out of attempts, or an error no retry can fix. One row per item key
-- and job; a later failure of the same item adds its attempts to the row, a later success deletes
-- it. Rows are written in the statement that records the chunk (src/store/outcomes.ts).
create table sluice.dead_letters (
  id bigserial primary key,
  job_id bigint not null references sluice.jobs (id) on delete cascade,
  -- The task that recorded the latest failure; `sluice dlq replay` finds the item's outcome there.
  task_seq int not null,
  item_key text not null,
  payload jsonb not null,
  error text not null,
  error_stack text,
  attempts int not null check (attempts >= 1),
  first_failed_at timestamptz not null default now(),
  last_failed_at timestamptz not null default now(),
  unique (job_id, item_key)
);

-- `dlq list` reads a job's letters by key through the unique index; replay groups them by task.
create index dead_letters_by_task on sluice.dead_letters (job_id, task_seq);

-- Where `sluice run` loaded the job from, so `sluice dlq replay <job-name>` can load it again.
alter table sluice.jobs add column module text;
