// Compiled by the consumer's tsc, never run: the generic types flow from the sources into `run`,
// `each`, `reduce` and `combine`. A type that collapsed to `any` or `unknown` fails to compile.
import {
  chunks,
  cursor,
  defineJob,
  type Job,
  type MapOutcome,
  parallelMap,
  type TableRange,
  tableRanges,
} from 'sluice';

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function same<A, B>(_proof: Equal<A, B>): void {}

interface Order {
  id: number;
  amount: string;
}

export const report = defineJob({
  name: 'typed-ranges',
  source: tableRanges({ table: 'orders', key: 'id', rowsPerRange: 1000 }),
  async run(range, { sql }) {
    same<typeof range, TableRange>(true);
    const rows = await sql<{ n: number }[]>`select count(*)::int as n from orders`;
    return { orders: rows[0]?.n ?? 0 };
  },
  initial: () => ({ orders: 0, ranges: 0 }),
  reduce(totals, part) {
    same<typeof totals, { orders: number; ranges: number }>(true);
    same<typeof part, { orders: number }>(true);
    return { orders: totals.orders + part.orders, ranges: totals.ranges + 1 };
  },
});
same<
  typeof report,
  Job<TableRange, { orders: number }, { orders: number; ranges: number }, undefined>
>(true);

export const pages = defineJob({
  name: 'typed-cursor',
  source: cursor<Order>({ table: 'orders', key: 'id', batchSize: 500 }),
  async run(rows) {
    same<typeof rows, Order[]>(true);
    return rows.length;
  },
});

export const emails = defineJob({
  name: 'typed-chunks',
  source: chunks(['a@example.com', 'b@example.com'], 100),
  async each(address) {
    same<typeof address, string>(true);
    return address.length;
  },
});

export const words = defineJob({
  name: 'typed-map-reduce',
  source: chunks([{ text: 'a b' }], 10),
  run(documents) {
    same<typeof documents, { text: string }[]>(true);
    const counts = new Map<string, number>();
    for (const { text } of documents)
      for (const word of text.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1);
    return counts;
  },
  combine(a, b, key) {
    same<typeof a, number>(true);
    same<typeof key, string>(true);
    return a + b;
  },
});

const outcomes: MapOutcome<number, string>[] = await parallelMap(
  async (n: number) => String(n),
  [1, 2],
).toArray();
same<(typeof outcomes)[number], MapOutcome<number, string>>(true);
