-- Outcome rows without a foreign key to sluice.jobs. A chunk's completion writes one outcome row
-- per item, and the key's check ran once per row: 2.6 of the 8.7 ms a completion of 800 outcomes
-- took (PostgreSQL 15), each check locking the job row FOR KEY SHARE again. Outcomes are only
-- ever written in the statement that finishes their task, fenced by the task's epoch, so a row
-- cannot name a job that is not there: the task it finishes belongs to the job.
--
-- The rows of a deleted job (`--rerun`, `sluice prune`) go with it through 0015's trigger on
-- sluice.jobs, which already drops the job's other rows without a key (counts, rollups). It is a
-- statement trigger, so it runs after the key's cascade has deleted the job's tasks, and that
-- cascade waits for any completion still writing: whatever that completion wrote is there to be
-- deleted, and a completion after it finds no task to finish and writes nothing.
alter table sluice.outcomes drop constraint outcomes_job_id_fkey;

create or replace function sluice.drop_job_rollups() returns trigger
language plpgsql as $$
begin
  delete from sluice.task_counts c using gone_jobs g where c.job_id = g.id;
  delete from sluice.task_throughput r using gone_jobs g where r.job_id = g.id;
  delete from sluice.outcomes o using gone_jobs g where o.job_id = g.id;
  return null;
end
$$;
