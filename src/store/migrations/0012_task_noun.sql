-- What a job's tasks are called in progress lines (ranges, chunks, batches), as its source says;
-- `sluice wait` follows a job without its module and reads it here, as it reads `unit`.
alter table sluice.jobs add column task_noun text not null default 'tasks';
update sluice.jobs set task_noun = 'ranges' where source like 'tableRanges(%';
update sluice.jobs set task_noun = 'chunks' where source like 'cursor(%' or source like 'chunks(%';
update sluice.jobs set task_noun = 'batches' where source like 'microBatch(%';
