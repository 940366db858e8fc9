-- A task claimed ahead for a thread or process worker, still waiting for it: if its process dies
-- now, the task never ran, so reclaiming it gives its attempt back (src/store/liveness.ts).
alter table sluice.tasks add column waiting boolean not null default false;
