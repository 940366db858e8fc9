-- A MapReduce job's result is a record keyed by its map's keys, which users read sorted. jsonb
-- keeps keys in an order of its own, so whoever shows a stored result sorts it again; a process
-- that follows the job without its module (`sluice wait`, `sluice status`) learns here that it must.
alter table sluice.jobs add column keyed_result boolean not null default false;
