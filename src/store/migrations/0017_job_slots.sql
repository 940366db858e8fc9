-- Claims that do not queue on the job row. Until now every claim locked the job's row FOR UPDATE
-- until commit, to count the running tasks under the cap: with 32 claimers, 28 waited on that row
-- (bench:claims: 0.60-0.64x a plain SKIP LOCKED claim, p99 over 100 ms), and an outcome or dead
-- letter insert (its foreign key takes a key-share lock on the job row) waited behind every claim.
--
-- Now the cap is a set of rows, one per unit of it: sluice.job_slots holds slots 1 to the cap
-- for each job, and a running task holds exactly one of them. A claim takes free slots with
-- FOR UPDATE SKIP LOCKED, then as many pending tasks with SKIP LOCKED, and each task records its
-- slot. A slot is free exactly when its seq is null; FOR UPDATE re-checks `seq is null` on the
-- newest version of a row another claim just committed, so two claims never hold one slot, and
-- at most `cap` tasks run, across every process and machine. Claimers skip each other's slots
-- and tasks instead of waiting. A trigger fills the slot when its task starts running and empties
-- it, in the same transaction, on every way out of 'running' (completion, failure, retry, release,
-- reclaim, waiting for children), so the slots and the tasks never disagree.
--
-- The job row is read FOR KEY SHARE: claims share it with each other and with the foreign-key
-- checks of outcome inserts, so neither waits for the other. A status change (pause, cancel, an
-- alert) locks the row FOR UPDATE first (src/store/jobControl.ts): it waits for the claims in
-- flight, and a claim after it waits, then re-reads the row and finds the job no longer running.
--
-- A cap lowered while tasks run leaves its upper slots held until those tasks end, and while any
-- is held no claim takes a slot: the tasks running are at or over the new cap. After that a claim
-- takes only slots numbered up to the cap. A cap raised gets its new slots at once. A cap change
-- locks the job row FOR UPDATE (src/store/jobs.ts), so it waits for the claims in flight.
-- A cap is now at most 10,000 (src/limit/validate.ts): each unit of it is a row. A job planned
-- before with a higher cap keeps running at 10,000.
update sluice.jobs set max_parallelism = 10000 where max_parallelism > 10000;
alter table sluice.jobs add constraint jobs_max_parallelism_rows check (max_parallelism <= 10000);

create table sluice.job_slots (
  job_id bigint not null references sluice.jobs (id) on delete cascade,
  slot int not null,
  -- The task holding the slot and its process; both null when the slot is free.
  seq int,
  owner int,
  primary key (job_id, slot)
) with (fillfactor = 50); -- seq is unindexed: each claim and completion is a HOT update

alter table sluice.tasks add column slot int;

create function sluice.make_job_slots() returns trigger language plpgsql as $$
begin
  insert into sluice.job_slots (job_id, slot)
  select new.id, s from generate_series(1, new.max_parallelism) s
  on conflict do nothing;
  return null;
end
$$;

create trigger jobs_make_slots after insert on sluice.jobs
for each row execute function sluice.make_job_slots();

create trigger jobs_remake_slots after update of max_parallelism on sluice.jobs
for each row when (new.max_parallelism > old.max_parallelism)
execute function sluice.make_job_slots();

-- A task entering 'running' fills the slot its claim gave it; leaving it, frees that slot, if the
-- slot still names this task.
create function sluice.hold_job_slot() returns trigger language plpgsql as $$
begin
  if new.status = 'running' then
    update sluice.job_slots set seq = new.seq, owner = new.owner
    where job_id = new.job_id and slot = new.slot;
  else
    update sluice.job_slots set seq = null, owner = null
    where job_id = old.job_id and slot = old.slot and seq = old.seq;
  end if;
  return null;
end
$$;

create trigger tasks_hold_slot after update of status on sluice.tasks
for each row when ((old.status = 'running') <> (new.status = 'running'))
execute function sluice.hold_job_slot();

-- Every job gets its slots; tasks running now (a store upgraded under a live job) get one each,
-- numbered past the cap if the cap is lower than what runs.
insert into sluice.job_slots (job_id, slot)
select j.id, s from sluice.jobs j,
  generate_series(1, greatest(j.max_parallelism,
    (select count(*) from sluice.tasks t where t.job_id = j.id and t.status = 'running')::int)) s;

with numbered as (
  select t.job_id, t.seq, row_number() over (partition by t.job_id order by t.seq)::int as slot
  from sluice.tasks t where t.status = 'running'
)
update sluice.tasks t set slot = n.slot from numbered n
where t.job_id = n.job_id and t.seq = n.seq;

update sluice.job_slots sl set seq = t.seq, owner = t.owner from sluice.tasks t
where t.status = 'running' and t.job_id = sl.job_id and t.slot = sl.slot;

-- The slots a claim may fill now, locked: free ones numbered up to the cap, as many as the
-- process may take. That is its free workers, under its fair share of the cap (0016: the cap
-- split evenly among the processes holding the job's slots and those that found no room in the
-- last 5 s, itself included); the free slots themselves bound it by the cap's room. The share is
-- counted from the slots, which name their holders, without a lock. None when the job is not
-- running, or while a slot above a lowered cap is held. This replaces sluice.claim_room, which counted the running tasks
-- under the job row's lock.
--
-- `p_held` is how many of the job's tasks the caller holds already, when it knows. Every live
-- process counts at most once among those sharing the cap, so one holding few enough cannot pass
-- its share, whatever the others hold: then the slots alone decide, and the job's slots are not
-- counted (at a cap of 1,000, counting them was a fifth of a claim). A process that died holding
-- slots, until its tasks are reclaimed, is the exception: its share goes to the others meanwhile.
create function sluice.take_job_slots(p_job bigint, p_owner int, p_limit int, p_held int,
                                      out cap int, out slots int[])
language plpgsql volatile
set enable_sort = off set jit = off
as $$
declare
  v_alive int;
  v_waiters int;
  v_waiting_since timestamptz;
  v_mine int;
  v_holders int;
  v_room int;
begin
  slots := '{}';
  select j.max_parallelism into cap from sluice.jobs j
  where j.id = p_job and j.status = 'running' for key share;
  if not found then
    return;
  end if;
  select count(*),
    count(*) filter (where p.waiting_job = p_job and p.id <> p_owner
                       and p.waiting_since > now() - interval '5 seconds'
                       and not exists (select 1 from sluice.job_slots sl
                                       where sl.job_id = p_job and sl.owner = p.id)),
    max(p.waiting_since) filter (where p.id = p_owner and p.waiting_job = p_job)
  into v_alive, v_waiters, v_waiting_since
  from sluice.processes p;
  if exists (select 1 from sluice.job_slots sl
             where sl.job_id = p_job and sl.slot > cap and sl.seq is not null) then
    v_room := 0;
  elsif p_held is not null and p_held + p_limit <= ceil(cap::numeric / greatest(v_alive, 1)) then
    v_room := p_limit;
  else
    select count(sl.seq) filter (where sl.owner = p_owner),
      count(distinct sl.owner) filter (where sl.owner <> p_owner)
    into v_mine, v_holders
    from sluice.job_slots sl where sl.job_id = p_job;
    v_room := greatest(0, least(p_limit,
                                ceil(cap::numeric / (v_holders + v_waiters + 1))::int - v_mine));
  end if;
  if v_room > 0 then
    slots := array(
      select sl.slot from sluice.job_slots sl
      where sl.job_id = p_job and sl.seq is null and sl.slot <= cap
      order by sl.slot
      limit v_room
      for update skip locked);
  end if;
  -- Found no room: others count this process as waiting for its share. The mark is renewed at
  -- most once a second, so a process polling a full cap does not write (and commit) each time.
  if cardinality(slots) = 0 then
    if v_waiting_since is null or v_waiting_since < now() - interval '1 second' then
      update sluice.processes set waiting_job = p_job, waiting_since = now() where id = p_owner;
    end if;
  elsif v_waiting_since is not null then
    update sluice.processes set waiting_job = null, waiting_since = null where id = p_owner;
  end if;
end
$$;

drop function sluice.claim_room(bigint, int, int, int);

drop function sluice.claim_tasks(bigint, int, int, int);
create function sluice.claim_tasks(p_job bigint, p_owner int, p_limit int, p_lease_seconds int,
                                   p_held int default null)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb)
language plpgsql volatile
set enable_sort = off set jit = off
as $$
#variable_conflict use_column
declare
  v_cap int;
  v_slots int[];
  v_first int;
  v_first_at timestamptz;
  v_picked tid[];
begin
  select s.cap, s.slots into v_cap, v_slots from sluice.take_job_slots(p_job, p_owner, p_limit, p_held) s;
  if cardinality(v_slots) = 0 then
    return;
  end if;
  if v_cap = 1 then
    -- One probe: the first pending task, runnable or not. That task or nothing: SKIP LOCKED must
    -- not skip past it. Holding the only slot, no other claim runs now.
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
      limit cardinality(v_slots)
      for update skip locked);
  end if;
  if cardinality(v_picked) = 0 then
    return;
  end if;
  return query
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now(),
      slot = v_slots[array_position(v_picked, t.ctid)]
    where t.ctid = any(v_picked)
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint;
end
$$;

drop function sluice.claim_graph_tasks(bigint, int, int, int);
create function sluice.claim_graph_tasks(p_job bigint, p_owner int, p_limit int,
                                         p_lease_seconds int, p_held int default null)
returns table (seq int, payload jsonb, items float8, attempts int, epoch int, checkpoint jsonb,
               stage text, depth int, parent_seq int, fan_in boolean)
language plpgsql volatile
set enable_sort = off set jit = off
as $$
#variable_conflict use_column
declare
  v_slots int[];
  v_picked tid[];
begin
  select s.slots into v_slots from sluice.take_job_slots(p_job, p_owner, p_limit, p_held) s;
  if cardinality(v_slots) = 0 then
    return;
  end if;
  v_picked := array(
    select t.ctid from sluice.tasks t
    where t.job_id = p_job and t.status = 'pending' and t.run_after <= now()
    order by t.depth desc, t.seq
    limit cardinality(v_slots)
    for update skip locked);
  if cardinality(v_picked) = 0 then
    return;
  end if;
  return query
    update sluice.tasks t set
      status = 'running', owner = p_owner, attempts = t.attempts + 1, epoch = t.epoch + 1,
      lease_until = now() + make_interval(secs => p_lease_seconds), started_at = now(),
      slot = v_slots[array_position(v_picked, t.ctid)]
    where t.ctid = any(v_picked)
    returning t.seq, t.payload, t.items::float8, t.attempts, t.epoch, t.checkpoint, t.stage,
      t.depth, t.parent_seq, t.fan_in;
end
$$;
