// A multi-stage pipeline: ETL with distinct transform steps. Extract reads a range of
// orders, transform turns them into facts (cents, a normalised status, cancelled orders dropped),
// load upserts the facts. Each stage is its own durable task: a range's transform starts as soon
// as its extract lands, and a crash resumes every stage where it was.
//
//   npx sluice run examples/etl-pipeline.ts            (embedded PostgreSQL, demo data)
import { defineJob, pipeline, stage, tableRanges, upsert } from 'sluice';
import { createDemoOrders } from './demo/orders.ts';

interface Order {
  id: string;
  status: string;
  amount: string;
}

interface Fact {
  order_id: string;
  status: string;
  amount_cents: number;
}

const extract = stage(
  'extract',
  (range: { start: string; end: string }, { sql }) =>
    sql<Order[]>`
    select id::text, status, amount::text from etl_orders
    where id between ${range.start} and ${range.end} order by id`,
);

const transform = stage('transform', (orders: Order[]): Fact[] =>
  orders
    .filter((order) => order.status !== 'cancelled')
    .map((order) => ({
      order_id: order.id,
      status: order.status === 'refunded' ? 'returned' : order.status,
      amount_cents: Math.round(Number(order.amount) * 100),
    })),
);

const load = stage('load', async (facts: Fact[], { sql }) => {
  // Idempotent: a load that runs again after a crash overwrites the same rows.
  await upsert(sql, 'order_facts', facts, { key: ['order_id'], update: 'all' });
  return { facts: facts.length, cents: facts.reduce((sum, f) => sum + f.amount_cents, 0) };
});

export default defineJob({
  name: process.env.JOB_NAME ?? 'etl-pipeline',
  source: tableRanges({ table: 'etl_orders', key: 'id', rowsPerRange: 5_000 }),
  maxParallelism: 6,
  stages: pipeline([extract, transform, load]),
  async prepare({ sql }) {
    await createDemoOrders(sql, 100_000, 'etl_orders');
    await sql`create table if not exists order_facts (
      order_id bigint primary key, status text not null, amount_cents bigint not null)`;
  },
  initial: () => ({ facts: 0, cents: 0 }),
  reduce: (acc, report) => ({ facts: acc.facts + report.facts, cents: acc.cents + report.cents }),
});
