-- What a job's items are called in progress and summaries (rows, items), as its source says; a
-- process that follows the job without its module (`sluice wait`) reads it here.
alter table sluice.jobs add column unit text not null default 'items';
update sluice.jobs set unit = 'rows' where source like 'tableRanges(%' or source like 'cursor(%';
