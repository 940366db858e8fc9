-- Jobs are identified by name: running the same name again resumes the job.
create table sluice.jobs (
  id bigserial primary key,
  name text not null unique,
  status text not null check (status in ('running', 'done', 'failed')),
  source text not null,
  fingerprint text not null,
  max_parallelism int not null check (max_parallelism >= 1),
  max_attempts int not null check (max_attempts >= 1),
  total_tasks int not null default 0,
  total_items bigint not null default 0,
  result jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);

-- One row per planned task. `seq` is plan order, which fixes the order of the reduction.
-- `epoch` grows on every claim: a completion carrying an older epoch is a stale worker's and is refused.
create table sluice.tasks (
  job_id bigint not null references sluice.jobs (id) on delete cascade,
  seq int not null,
  payload jsonb not null,
  items bigint not null default 0,
  status text not null default 'pending' check (status in ('pending', 'running', 'done', 'failed')),
  attempts int not null default 0,
  epoch int not null default 0,
  run_after timestamptz not null default now(),
  owner int,
  lease_until timestamptz,
  checkpoint jsonb,
  report jsonb,
  error text,
  error_stack text,
  started_at timestamptz,
  finished_at timestamptz,
  primary key (job_id, seq)
);

-- Claims scan pending tasks of one job in plan order; the cap counts its running ones.
create index tasks_open on sluice.tasks (job_id, status, seq) where status in ('pending', 'running');

-- Every sluice process takes a number from here and holds a session advisory lock on it while it
-- lives; a task whose owner's lock is gone belongs to a dead process.
create sequence sluice.process_ids as int cycle;
