import type { Sql } from 'postgres';

/** Failures that share a message once its numbers, uuids and hex ids are masked. */
export interface FailureGroup {
  /** The masked message (sluice.error_pattern), e.g. `row <n> violates unique constraint`. */
  pattern: string;
  count: number;
  /** Up to three keys of failed items, or `task <seq>` for a task that failed whole. */
  samples: string[];
}

/**
 * A job's failures grouped by masked message, the largest `limit` groups. Failures are the
 * failed items of chunks that still count (outcomes not superseded by a retry), and tasks that
 * failed without per-item outcomes (table ranges; a chunk whose worker died). Both read the
 * pattern stored when the error was written, through partial indexes on failures alone:
 * outcomes_error_pattern and tasks_failed.
 */
export async function failureGroups(sql: Sql, jobId: string, limit = 20): Promise<FailureGroup[]> {
  return sql<FailureGroup[]>`
    with groups as (
      select pattern, sum(n)::float8 as count from (
        select error_pattern as pattern, count(*) as n from sluice.outcomes
        where job_id = ${jobId} and not ok and not superseded group by 1
        union all
        select coalesce(error_pattern, ''), count(*) from sluice.tasks
        where job_id = ${jobId} and status = 'failed' and failed_items is null group by 1
      ) g group by pattern order by count desc, pattern limit ${limit}
    )
    select g.pattern, g.count, array(
      select key from (
        (select coalesce(sluice.item_key(o.item), o.item::text) as key from sluice.outcomes o
         where o.job_id = ${jobId} and not o.ok and not o.superseded and o.error_pattern = g.pattern
         order by o.task_seq, o.idx limit 3)
        union all
        (select 'task ' || t.seq from sluice.tasks t
         where t.job_id = ${jobId} and t.status = 'failed' and t.failed_items is null
           and coalesce(t.error_pattern, '') = g.pattern
         order by t.finished_at desc, t.seq desc limit 3)
      ) s limit 3) as samples
    from groups g order by g.count desc, g.pattern`;
}
