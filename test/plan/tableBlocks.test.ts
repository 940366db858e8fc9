import type { Sql } from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { defineJob, Events, runJob, Store } from '../../src/index.ts';
import {
  type TableBlock,
  type TableBlocksOptions,
  tableBlocks,
} from '../../src/plan/tableBlocks.ts';
import { busySessions, useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 4 });
const pastLastPage = 4_294_967_295;

afterEach(async () => {
  expect(await busySessions(db.sql)).toBe(0);
});

async function plan(options: TableBlocksOptions): Promise<TableBlock[]> {
  const source = tableBlocks(options);
  const blocks: TableBlock[] = [];
  for await (const task of source.plan({ sql: db.sql })) {
    const block = source.input(JSON.parse(JSON.stringify(task.payload)));
    expect(task.items).toBe(block.pages);
    blocks.push(block);
  }
  return blocks;
}

/** Pages of the table on disk now, as the server counts them. */
async function pagesOnDisk(table: string): Promise<number> {
  const [row] = await db.sql`
    select (pg_relation_size(${table}::regclass) / current_setting('block_size')::int)::int as pages`;
  return row?.pages ?? -1;
}

async function relpages(table: string): Promise<number> {
  const [row] = await db.sql`select relpages from pg_class where oid = ${table}::regclass`;
  return row?.relpages ?? -1;
}

/**
 * Reads every block's rows through its own condition and checks, from the database, that each
 * row of the table (matching `where`) was read by exactly one block, and that the blocks tile the
 * pages from 0 with the last one open-ended.
 */
async function checkCoverage(table: string, blocks: TableBlock[], where = db.sql`true`) {
  for (const [i, block] of blocks.entries()) {
    expect(block.startPage).toBe(i === 0 ? 0 : blocks[i - 1]?.endPage);
    expect(block.endPage).toBeGreaterThan(block.startPage);
  }
  if (blocks.length > 0) expect(blocks.at(-1)?.endPage).toBe(pastLastPage);
  const read: string[] = [];
  for (const block of blocks) {
    const rows = await db.sql`select id::text from ${db.sql(table)} where ${block.where(db.sql)}`;
    read.push(...rows.map((row) => row.id as string));
  }
  const [check] = await db.sql`
    with read as (select id, count(*) as times from unnest(${read}::text[]) as r(id) group by id),
    want as (select id::text as id from ${db.sql(table)} where ${where})
    select
      (select count(*)::int from want) as wanted,
      (select count(*)::int from want left join read using (id) where read.times is distinct from 1) as wrong,
      (select count(*)::int from read left join want using (id) where want.id is null) as extra`;
  expect(check).toEqual({ wanted: check?.wanted, wrong: 0, extra: 0 });
  expect(read).toHaveLength(check?.wanted ?? -1);
  return check?.wanted ?? 0;
}

/** A table of `rows` rows of about 200 bytes (~36 to a page); autovacuum off, so relpages stays as the test sets it. */
async function createTable(table: string, rows: number) {
  await db.sql`create table ${db.sql(table)} (id int not null, kind text not null, pad text not null)
    with (autovacuum_enabled = false)`;
  await addRows(table, 1, rows);
}

async function addRows(table: string, from: number, to: number) {
  await db.sql`insert into ${db.sql(table)}
    select g, (array['a', 'b', 'c'])[1 + g % 3], repeat('x', 180) from generate_series(${from}::int, ${to}::int) g`;
}

describe('coverage', () => {
  test('a table never analyzed: relpages says 0, yet every row is read exactly once', async () => {
    await createTable('fresh', 5000);
    expect(await relpages('fresh')).toBe(0);
    const pages = await pagesOnDisk('fresh');
    expect(pages).toBeGreaterThan(100);
    for (const pagesPerTask of [1, 7, 50, pages - 1, pages, pages + 1, 1_000_000]) {
      const blocks = await plan({ table: 'fresh', pagesPerTask });
      expect(blocks).toHaveLength(Math.ceil(pages / pagesPerTask));
      expect(blocks.reduce((sum, b) => sum + b.pages, 0)).toBe(pages);
      expect(await checkCoverage('fresh', blocks)).toBe(5000);
    }
  });

  test('rows in pages past a stale relpages are read, and holes left by deletes do not matter', async () => {
    await createTable('grown', 500);
    await db.sql`vacuum analyze grown`;
    const analyzed = await relpages('grown');
    await addRows('grown', 501, 6000);
    await db.sql`delete from grown where id % 7 = 0 or id between 2000 and 2600`;
    expect(await relpages('grown')).toBe(analyzed);
    const pages = await pagesOnDisk('grown');
    expect(pages).toBeGreaterThan(analyzed * 5);
    const blocks = await plan({ table: 'grown', pagesPerTask: 16 });
    expect(blocks).toHaveLength(Math.ceil(pages / 16));
    await checkCoverage('grown', blocks);
  });

  test('a relpages larger than the table (it shrank since) plans empty ranges, still exactly once', async () => {
    await createTable('shrunk', 3000);
    await db.sql`analyze shrunk`;
    const before = await relpages('shrunk');
    await db.sql`truncate shrunk`;
    await addRows('shrunk', 1, 300);
    expect(await relpages('shrunk')).toBeLessThanOrEqual(before);
    const blocks = await plan({ table: 'shrunk', pagesPerTask: 4 });
    expect(blocks.length).toBe(
      Math.ceil(Math.max(await relpages('shrunk'), await pagesOnDisk('shrunk')) / 4),
    );
    expect(await checkCoverage('shrunk', blocks)).toBe(300);
  });

  test('where narrows the rows each range reads', async () => {
    await createTable('kinds', 4000);
    const kindB = (s: Sql) => s`kind = ${'b'}`;
    const blocks = await plan({ table: 'kinds', pagesPerTask: 10, where: kindB });
    expect(await checkCoverage('kinds', blocks, db.sql`kind = ${'b'}`)).toBe(1334);
    const none = await plan({ table: 'kinds', pagesPerTask: 10, where: (s) => s`kind = ${'z'}` });
    expect(none).toHaveLength(blocks.length);
    expect(await checkCoverage('kinds', none, db.sql`kind = ${'z'}`)).toBe(0);
  });

  test('an empty table plans nothing; quoted names work', async () => {
    await db.sql`create table empty (id int)`;
    expect(await plan({ table: 'empty', pagesPerTask: 10 })).toEqual([]);
    await db.sql`create schema ${db.sql('Shop')}`;
    await db.sql`create table ${db.sql.unsafe('"Shop"."Odd ""Table"""')} (id int)`;
    await db.sql`insert into ${db.sql.unsafe('"Shop"."Odd ""Table"""')} select generate_series(1, 2000)`;
    const blocks = await plan({ table: 'Shop.Odd "Table"', pagesPerTask: 2 });
    expect(blocks.length).toBeGreaterThan(1);
    let read = 0;
    for (const block of blocks) {
      const [row] = await db.sql`
        select count(*)::int as n from ${db.sql.unsafe('"Shop"."Odd ""Table"""')} where ${block.where(db.sql)}`;
      read += row?.n ?? 0;
    }
    expect(read).toBe(2000);
  });

  test("a range's read is a Tid Range Scan, with the where as its filter", async () => {
    await createTable('scanned', 20_000);
    await db.sql`vacuum analyze scanned`;
    const where = (s: Sql) => s`kind = ${'a'}`;
    const blocks = await plan({ table: 'scanned', pagesPerTask: 64, where });
    expect(blocks.length).toBeGreaterThan(2);
    for (const block of [blocks[0], blocks[1], blocks.at(-1)] as TableBlock[]) {
      const lines = await db.sql`
        explain select kind, count(*) from scanned where ${block.where(db.sql)} group by kind`;
      const plan = lines.map((line) => line['QUERY PLAN'] as string).join('\n');
      expect(plan).toMatch(/Tid Range Scan on scanned/);
      const [start, end] = [block.startPage, block.endPage];
      expect(plan).toContain(
        `TID Cond: ((ctid >= '(${start},0)'::tid) AND (ctid < '(${end},0)'::tid))`,
      );
      expect(plan).toContain("Filter: (kind = 'a'::text)");
      expect(plan).not.toMatch(/Seq Scan/);
    }
  });
});

describe('refusals', () => {
  test('a missing table, a view or a partitioned table is one InputError, before any task', async () => {
    await db.sql`create table plain (id int)`;
    await db.sql`create view plain_view as select * from plain`;
    await db.sql`create table parted (id int) partition by range (id)`;
    const refusals: [string, string][] = [
      ['nope', 'tableBlocks(nope): table `nope` does not exist'],
      ['Plain', 'tableBlocks(Plain): table `Plain` does not exist'],
      [
        'x"; drop table plain; --',
        'tableBlocks(x"; drop table plain; --): table `x"; drop table plain; --` does not exist',
      ],
      ['plain_view', 'tableBlocks(plain_view): `plain_view` is not a table'],
      [
        'parted',
        'tableBlocks(parted): `parted` is a partitioned table, whose partitions number their pages each from 0; split one partition at a time, or use tableRanges',
      ],
    ];
    for (const [table, message] of refusals) {
      const yielded: unknown[] = [];
      const error = await (async () => {
        for await (const task of tableBlocks({ table, pagesPerTask: 1 }).plan({ sql: db.sql }))
          yielded.push(task);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toBe(message);
      expect(yielded).toEqual([]);
    }
    expect(await db.sql`select 1 from plain`).toEqual([]);
  });

  test('a `where` the server refuses is one InputError naming the source', async () => {
    await db.sql`create table strict (id int not null)`;
    await db.sql`insert into strict select generate_series(1, 30)`;
    const refusals: [TableBlocksOptions['where'], string][] = [
      [(s) => s`nosuch = 1`, 'column "nosuch" does not exist'],
      [(s) => s`id =`, 'syntax error at or near ")"'],
      [(s) => s`id = ${'abc'}`, 'invalid input syntax for type integer: "abc"'],
      [(s) => s`id / 0 = 1`, 'division by zero'],
    ];
    for (const [where, reason] of refusals) {
      const yielded: unknown[] = [];
      const source = tableBlocks({ table: 'strict', pagesPerTask: 1, where });
      const error = await (async () => {
        for await (const task of source.plan({ sql: db.sql })) yielded.push(task);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toBe(
        `The \`where\` of tableBlocks(strict) failed: ${reason}`,
      );
      expect(yielded).toEqual([]);
    }
  });

  test('bad options are refused at once in the standard form', () => {
    const base = { table: 'orders', pagesPerTask: 10 };
    for (const [value, shown] of [
      [0, '`0` (number)'],
      [-1, '`-1` (number)'],
      [1.5, '`1.5` (number)'],
      ['10', '`"10"` (string)'],
      [undefined, '`undefined` (undefined)'],
    ] as const) {
      expect(() => tableBlocks({ ...base, pagesPerTask: value as number })).toThrow(
        new InputError(`Expected \`pagesPerTask\` to be a whole number >= 1, got ${shown}`),
      );
    }
    for (const table of ['', 'a.b.c', 'a..b', 7]) {
      expect(() => tableBlocks({ ...base, table: table as string })).toThrow(
        /^Expected `table` to be a table name such as `orders` or `shop.orders`, got /,
      );
    }
    const where = 'status = paid' as unknown as TableBlocksOptions['where'];
    expect(() => tableBlocks({ ...base, where })).toThrow(/^Expected `where` to be a function/);
    expect(() => tableBlocks({ ...base, pagesPerTsk: 3 } as never)).toThrow(
      new InputError(
        'Unknown option `pagesPerTsk` in tableBlocks({...}); did you mean `pagesPerTask`?',
      ),
    );
    expect(() => tableBlocks(null as never)).toThrow(
      /^Expected `tableBlocks` to be an options object/,
    );
  });
});

describe('identity', () => {
  test('describe, unit and a fingerprint that follows the plan-shaping options', () => {
    const base = { table: 'shop.orders', pagesPerTask: 10 };
    const source = tableBlocks(base);
    expect(source.describe).toBe('tableBlocks(shop.orders)');
    expect(source.unit).toBe('pages');
    expect(source.taskNoun).toBe('block ranges');
    expect(source.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(tableBlocks({ ...base }).fingerprint).toBe(source.fingerprint);
    const others = [
      { ...base, pagesPerTask: 11 },
      { ...base, table: 'orders' },
      { ...base, where: (s: Sql) => s`status = ${'paid'}` },
    ];
    for (const other of others) expect(tableBlocks(other).fingerprint).not.toBe(source.fingerprint);
  });

  test('input rebuilds a block range and refuses a damaged payload', () => {
    const source = tableBlocks({ table: 'orders', pagesPerTask: 10 });
    const block = source.input({ startPage: 20, endPage: pastLastPage, pages: 3 });
    expect(block).toMatchObject({ startPage: 20, endPage: pastLastPage, pages: 3 });
    for (const bad of [
      null,
      { startPage: '0', endPage: 10, pages: 10 },
      { startPage: 10, endPage: 10, pages: 0 },
      { startPage: -1, endPage: 10, pages: 11 },
      { startPage: 0, endPage: pastLastPage + 1, pages: 1 },
      { startPage: 0, endPage: 1 },
    ]) {
      expect(() => source.input(bad)).toThrow(
        /^Expected `payload` to be a block range \{ startPage, endPage, pages \}/,
      );
    }
  });
});

describe('as a job', () => {
  let store: Store;
  beforeAll(async () => {
    store = await Store.open(db.url);
    await createTable('orders', 12_000);
    await db.sql`vacuum analyze orders`;
  });
  afterAll(async () => {
    await store.close();
  });

  type Counts = Record<string, number>;
  const expectedCounts = async (): Promise<Counts> => {
    const rows = await db.sql`select kind, count(*)::int as n from orders group by kind`;
    return Object.fromEntries(rows.map((row) => [row.kind, row.n]));
  };

  function countJob(name: string, onRun: (block: TableBlock, attempt: number) => Promise<void>) {
    return defineJob({
      name,
      source: tableBlocks({ table: 'orders', pagesPerTask: 25 }),
      maxParallelism: 2,
      retry: { attempts: 2, baseMs: 1, maxMs: 1 },
      async run(block, { sql, attempt }) {
        await onRun(block, attempt);
        return sql<{ kind: string; n: number }[]>`
          select kind, count(*)::int as n from orders where ${block.where(sql)} group by kind`;
      },
      initial: (): Counts => ({}),
      reduce(totals, rows) {
        for (const { kind, n } of rows) totals[kind] = (totals[kind] ?? 0) + n;
        return totals;
      },
    });
  }

  test('sums exactly, retried and capped like any source', async () => {
    const pages = await pagesOnDisk('orders');
    let live = 0;
    let peak = 0;
    const failedOnce = new Set<number>();
    const job = countJob('blocks-sum', async (block, attempt) => {
      live++;
      peak = Math.max(peak, live);
      try {
        await db.sql`select pg_sleep(0.02)`;
        // Every third range fails its first attempt, and is retried.
        if (attempt === 1 && (block.startPage / 25) % 3 === 1) {
          failedOnce.add(block.startPage);
          throw new Error('transient');
        }
      } finally {
        live--;
      }
    });
    const summary = await runJob(job, { sourceUrl: db.url, store, concurrency: 4 });
    expect(summary).toMatchObject({
      status: 'done',
      unit: 'pages',
      total: pages,
      done: pages,
      tasks: { total: Math.ceil(pages / 25), failed: 0 },
    });
    expect(failedOnce.size).toBeGreaterThan(0);
    expect(peak).toBe(2);
    expect(summary.result).toEqual(await expectedCounts());
  });

  test('a stopped run resumes with the ranges it had not finished, and sums exactly', async () => {
    const stop = new AbortController();
    const ran: number[] = [];
    const job = countJob('blocks-resume', async (block) => {
      ran.push(block.startPage);
    });
    const events = new Events();
    let done = 0;
    events.on('task:done', () => {
      if (++done === 2) stop.abort();
    });
    const first = await runJob(job, { sourceUrl: db.url, store, events, stop: stop.signal });
    expect(first.status).toBe('interrupted');
    const total = first.tasks.total;
    const finished = first.tasks.done;
    expect(finished).toBeGreaterThanOrEqual(2);
    expect(finished).toBeLessThan(total);
    const firstRan = [...ran];
    ran.length = 0;
    const second = await runJob(job, { sourceUrl: db.url, store });
    expect(second).toMatchObject({ status: 'done', tasks: { total, done: total } });
    // Each range ran once in all: the resumed run skipped the ones already done.
    expect(ran).toHaveLength(total - finished);
    expect(firstRan).toHaveLength(finished);
    expect(new Set([...firstRan, ...ran]).size).toBe(total);
    expect(second.result).toEqual(await expectedCounts());
  });
});
