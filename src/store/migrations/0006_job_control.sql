-- Job control: a job can be paused (no new claims; resumable) or cancelled (running tasks are
-- aborted; finished reports stay). claim_tasks (0002) already claims only for 'running' jobs, so
-- a paused or cancelled job stops handing out work the moment this row changes.
alter table sluice.jobs drop constraint jobs_status_check;
alter table sluice.jobs add constraint jobs_status_check
  check (status in ('running', 'paused', 'cancelled', 'done', 'failed'));

-- Why the job is paused, cancelled or failed by sluice itself, and who did it: 'user' (sluice
-- pause/cancel), 'alert' (the failure-rate alert) or 'deadline'. Null while it runs normally.
alter table sluice.jobs
  add column status_reason text,
  add column stopped_by text check (stopped_by in ('user', 'alert', 'deadline')),
  -- The alert counts only tasks finished since the last resume; otherwise a resumed job would trip
  -- again at once on the failures that paused it.
  add column alert_since timestamptz,
  -- Set by the one process that trips the alert, so its action and onAlert run once per trip.
  add column alert_tripped_at timestamptz;
