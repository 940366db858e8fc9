// A report over a large table: split it into id ranges, run one bounded aggregate per range with a
// cap on live database connections, and reduce the small per-range reports on the client.
//
//   npx sluice run examples/orders-report.ts            (embedded PostgreSQL, demo data)
//   DATABASE_URL=postgres://... npx sluice run examples/orders-report.ts
import { defineJob, tableRanges } from 'sluice';
import { createDemoOrders } from './demo/orders.ts';

interface StatusRow {
  status: string;
  orders: number;
  amount: string;
}

type Totals = Record<string, { orders: number; amount: string }>;

export default defineJob({
  name: 'orders-report',
  source: tableRanges({ table: 'orders', key: 'id', rowsPerRange: 25_000 }),
  maxParallelism: 20,
  retry: { attempts: 3 },
  prepare: ({ sql }) => createDemoOrders(sql),
  async run(range, { sql }) {
    return sql<StatusRow[]>`
      select status, count(*)::int as orders, sum(amount)::text as amount
      from orders where id between ${range.start} and ${range.end}
      group by status order by status`;
  },
  initial: (): Totals => ({}),
  reduce(totals, report) {
    for (const row of report) {
      const previous = totals[row.status] ?? { orders: 0, amount: '0.00' };
      totals[row.status] = {
        orders: previous.orders + row.orders,
        amount: addMoney(previous.amount, row.amount),
      };
    }
    return totals;
  },
});

/** Adds two numeric(12,2) amounts exactly, in cents. */
function addMoney(a: string, b: string): string {
  const cents = toCents(a) + toCents(b);
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

function toCents(amount: string): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  const sign = whole.startsWith('-') ? -1n : 1n;
  return (
    sign * (BigInt(whole.replace('-', '')) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2)))
  );
}
