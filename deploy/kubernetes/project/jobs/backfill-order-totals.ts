// Fills `orders.total_cents`, a column a migration just added, from the old `amount` column.
// One task per range of 10,000 orders, at most 8 ranges updating at once across every worker pod,
// so the primary keeps serving the app while the backfill runs. Safe to run again: it only
// touches rows still null, so a retried or re-planned range changes nothing twice.
//
//   sluice run jobs/backfill-order-totals.ts --detach     (the Job in backfill-job.yaml)
//   sluice worker --all                                   (the worker Deployment)
import { defineJob, tableRanges } from 'sluice';

interface Totals {
  updated: number;
}

export default defineJob({
  name: 'backfill-order-totals',
  source: tableRanges({ table: 'orders', key: 'id', rowsPerRange: 10_000 }),
  maxParallelism: 8,
  retry: { attempts: 5 },
  timeout: 120_000,
  async run(range, { sql }): Promise<Totals> {
    const result = await sql`
      update orders set total_cents = round(amount * 100)::bigint
      where id between ${range.start} and ${range.end} and total_cents is null`;
    return { updated: result.count };
  },
  initial: (): Totals => ({ updated: 0 }),
  reduce: (totals, report) => ({ updated: totals.updated + report.updated }),
});
