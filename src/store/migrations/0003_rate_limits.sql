-- One shared GCRA schedule per (job, limit), for rate limits that hold across every process and
-- machine of a job. tat_ms is the theoretical arrival time: the first slot no process has taken
-- yet, in epoch ms on this server's clock (clock_timestamp()), so hosts whose clocks disagree still
-- share one timeline. A process takes a block of slots by moving tat_ms forward in one upsert
-- (src/store/rateLimit.ts); updated_ms is the server clock at that moment, returned so the process
-- can measure its offset from the server's clock.
create table sluice.rate_limits (
  job_id bigint not null references sluice.jobs (id) on delete cascade,
  name text not null,
  tat_ms float8 not null,
  updated_ms float8 not null,
  primary key (job_id, name)
);
