-- A 429 or 503 pause of a shared rate schedule, kept apart from tat_ms: paused_at_ms is the server
-- clock when the pause was written and paused_until_ms when it ends (epoch ms, clock_timestamp()).
-- The same statement notifies channel sluice_limits, so every process holds its releases at once
-- instead of at its next reservation; these columns let an operator (or a test) see when a pause
-- reached the store and compare what the API received with it.
alter table sluice.rate_limits
  add column paused_at_ms float8,
  add column paused_until_ms float8;
