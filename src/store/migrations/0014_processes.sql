-- What the dashboard reads (src/store/dashboard/): the processes behind the process ids, a
-- rollup of completions over time, failure patterns, and indexes for searching outcomes.
--
-- The processes behind the numbers in sluice.process_ids: a row per live process (written when it
-- registers, deleted when it leaves), so the dashboard and `sluice_job_processes` can say where a
-- task runs. A process works on whichever jobs its tasks' `owner` says: `worker --all` works on
-- several. A row whose advisory lock is gone (src/store/liveness.ts) is a dead process's: readers
-- check the lock, and the next process to register deletes such rows.
create table sluice.processes (
  id int primary key,
  host text not null,
  pid int not null,
  started_at timestamptz not null default now(),
  -- Bumped with every lease renewal (every 10 s while the process works).
  last_seen_at timestamptz not null default now(),
  -- The job whose claim last found no room for this process, and when: a claim shares the cap
  -- out among such waiters and the processes holding tasks (0016).
  waiting_job bigint,
  waiting_since timestamptz
);

-- Completions over time, for the dashboard's throughput series and current rate: reading them
-- from tasks.finished_at took 170-240 ms even as an index-only scan over a job of 1,000,000 tasks
-- (PostgreSQL 15), so triggers on sluice.tasks keep this rollup. A row sums the tasks and items
-- that finished in one bucket of `seconds`, from the job's created_at. The bucket width grows
-- with the job's age (sluice.throughput_width), so a job holds a few hundred buckets per shard
-- whatever it lasts. Every width divides the next and all start from created_at, so a reader
-- re-bins rows of any width up to its own exactly. As in 0015's counters, a row per backend shard
-- keeps concurrent completions from queueing on one row lock, and there is no foreign key to
-- sluice.jobs: its check takes a key-share lock on the job row, so the completion that opens a
-- bucket waited for any claim holding the job row (bench:claims saw it wait over 300 ms). A
-- deleted job's rows go with it through 0015's trigger on sluice.jobs.
create table sluice.task_throughput (
  job_id bigint not null,
  at timestamptz not null,
  seconds int not null,
  shard smallint not null,
  tasks bigint not null default 0,
  -- As countTasks counts them: the items that succeeded, and the items that failed.
  done_items bigint not null default 0,
  failed_items bigint not null default 0,
  primary key (job_id, at, seconds, shard)
) with (fillfactor = 50);

-- The width of the buckets for a job `age` seconds old: the smallest that splits its life into at
-- most 200.
create function sluice.throughput_width(age float8) returns int
language sql immutable parallel safe as $$
  select coalesce(min(w), 604800)
  from unnest(array[1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 604800]) w
  where w * 200 >= age
$$;

-- What one task version adds to a bucket: a task, and its items as countTasks counts them.
create type sluice.throughput_delta as (
  job_id bigint, finished_at timestamptz, tasks int, done_items bigint, failed_items bigint);

create function sluice.throughput_delta(sign int, job_id bigint, finished_at timestamptz,
  status text, items bigint, ok_items bigint, failed_items bigint) returns sluice.throughput_delta
language sql immutable parallel safe as $$
  select (job_id, finished_at, sign,
    sign * case status when 'done' then coalesce(ok_items, items) else 0 end,
    sign * case status when 'done' then coalesce(failed_items, 0) when 'failed' then items else 0 end
  )::sluice.throughput_delta
$$;

-- Adds what a statement changed to the current backend's rows: +1 for every task version that now
-- has a finish time, -1 for every one it replaced. A statement that touches no finished task (a
-- claim, a lease renewal, a checkpoint) stops at the first check. Changes that cancel out write
-- nothing. A version that went away is subtracted in the bucket of today's width, which holds the
-- one it was added to.
create function sluice.roll_up_throughput() returns trigger
language plpgsql as $$
declare
  v_deltas sluice.throughput_delta[];
begin
  if tg_op = 'INSERT' then
    v_deltas := array(
      select sluice.throughput_delta(1, job_id, finished_at, status, items, ok_items, failed_items)
      from new_rows where finished_at is not null);
  elsif tg_op = 'UPDATE' then
    if not exists (select 1 from new_rows where finished_at is not null)
       and not exists (select 1 from old_rows where finished_at is not null) then
      return null;
    end if;
    v_deltas := array(
      select sluice.throughput_delta(1, job_id, finished_at, status, items, ok_items, failed_items)
      from new_rows where finished_at is not null
      union all
      select sluice.throughput_delta(-1, job_id, finished_at, status, items, ok_items, failed_items)
      from old_rows where finished_at is not null);
  else
    v_deltas := array(
      select sluice.throughput_delta(-1, job_id, finished_at, status, items, ok_items, failed_items)
      from old_rows where finished_at is not null);
  end if;
  if cardinality(v_deltas) = 0 then
    return null;
  end if;
  insert into sluice.task_throughput as r (job_id, at, seconds, shard, tasks, done_items, failed_items)
  select d.job_id, date_bin(make_interval(secs => w.seconds), d.finished_at, j.created_at),
    w.seconds, (pg_backend_pid() % 16)::smallint,
    sum(d.tasks), sum(d.done_items), sum(d.failed_items)
  from unnest(v_deltas) d
  -- Tasks deleted with their job find no job here, and add nothing.
  join sluice.jobs j on j.id = d.job_id,
  lateral (select sluice.throughput_width(extract(epoch from now() - j.created_at)::float8) as seconds) w
  group by 1, 2, 3
  having sum(d.tasks) <> 0 or sum(d.done_items) <> 0 or sum(d.failed_items) <> 0
  -- One order for every writer: two transactions never wait on each other's rows in a cycle.
  order by 1, 2, 3
  on conflict (job_id, at, seconds, shard) do update set tasks = r.tasks + excluded.tasks,
    done_items = r.done_items + excluded.done_items,
    failed_items = r.failed_items + excluded.failed_items;
  return null;
end
$$;

create trigger tasks_throughput_inserts after insert on sluice.tasks
referencing new table as new_rows for each statement execute function sluice.roll_up_throughput();
create trigger tasks_throughput_updates after update on sluice.tasks
referencing old table as old_rows new table as new_rows
for each statement execute function sluice.roll_up_throughput();
create trigger tasks_throughput_deletes after delete on sluice.tasks
referencing old table as old_rows for each statement execute function sluice.roll_up_throughput();

-- The tasks that finished before this migration, in today's widths.
insert into sluice.task_throughput (job_id, at, seconds, shard, tasks, done_items, failed_items)
select t.job_id, date_bin(make_interval(secs => w.seconds), t.finished_at, j.created_at), w.seconds, 0,
  count(*), sum((d).done_items), sum((d).failed_items)
from sluice.tasks t join sluice.jobs j on j.id = t.job_id,
  lateral (select sluice.throughput_width(extract(epoch from now() - j.created_at)::float8) as seconds) w,
  lateral (select sluice.throughput_delta(1, t.job_id, t.finished_at, t.status, t.items, t.ok_items,
                                          t.failed_items) as d) x
where t.finished_at is not null
group by 1, 2, 3;

-- A failure's message with what varies between occurrences masked (uuids, hex ids, numbers), so
-- "row 17 violates ..." and "row 93 violates ..." fall in one group on the dashboard. Kept as a
-- stored column, computed once when an error is written: masking at read time cost 430 ms over
-- 40,000 failed outcomes (PostgreSQL 15), too slow for a page that refreshes.
create function sluice.error_pattern(error text) returns text
language sql immutable parallel safe as $$
  select regexp_replace(regexp_replace(regexp_replace(regexp_replace(error,
    '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'gi'),
    '\m0x[0-9a-f]+\M', '<hex>', 'gi'),
    '\m(?=[0-9a-f]*[0-9])[0-9a-f]{8,}\M', '<hex>', 'gi'),
    '[0-9]+', '<n>', 'g')
$$;
alter table sluice.tasks add column error_pattern text
  generated always as (sluice.error_pattern(error)) stored;
alter table sluice.outcomes add column error_pattern text
  generated always as (sluice.error_pattern(error)) stored;

-- Failed tasks, newest first, a page at a time; their groups by pattern without the table.
create index tasks_failed on sluice.tasks (job_id, finished_at desc, seq desc)
  include (error_pattern, failed_items) where status = 'failed';
-- Failed items by pattern: counted from the index alone, a few samples of each found in it.
create index outcomes_error_pattern on sluice.outcomes (job_id, error_pattern, task_seq, idx)
  where not ok and not superseded;

-- An item's key as sluice's default `itemKey` makes it (src/job/defineJob.ts): a string or number
-- as is, or an object's `id`. Null for anything else (its key is its JSON text, which jsonb does
-- not keep) and for keys over 512 characters (which itemKey hashes: sha256 needs convert_to,
-- which is only stable). Outcomes store no key; this lets a search find them by one. Items of a
-- job with a custom `itemKey` are found by key in dead letters only.
create function sluice.own_item_key(item jsonb) returns text
language sql immutable parallel safe as $$
  select case when jsonb_typeof(item) in ('string', 'number') then item #>> '{}'
              when jsonb_typeof(item -> 'id') in ('string', 'number') then item ->> 'id' end
$$;
-- Immutable single expressions without FROM, so PostgreSQL inlines them wherever they run: the
-- index on outcomes evaluates this for every outcome written. Not inlined (as when it called the
-- stable convert_to), it cost 8.6 us per outcome inserted; inlined, 2-3 us (200,000 rows,
-- PostgreSQL 15).
create function sluice.item_key(item jsonb) returns text
language sql immutable parallel safe as $$
  select case when length(sluice.own_item_key(item)) <= 512 then sluice.own_item_key(item) end
$$;

-- Search by item key, equal or by prefix: byte order (collate "C") turns a prefix into a range.
create index outcomes_item_key on sluice.outcomes (job_id, (sluice.item_key(item)) collate "C");
create index dead_letters_item_key on sluice.dead_letters (job_id, item_key collate "C");

-- Search by error text: words of the message, not stemmed ('simple'), in a GIN index. pg_trgm
-- would find any substring, but it is an extension a server may lack or forbid; this is core.
create index outcomes_error_text on sluice.outcomes
  using gin (to_tsvector('simple', error)) where not ok;
create index dead_letters_error_text on sluice.dead_letters using gin (to_tsvector('simple', error));
