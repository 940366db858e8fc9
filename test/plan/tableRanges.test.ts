import postgres, { type Sql } from 'postgres';
import { afterEach, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import {
  type TableRange,
  type TableRangesOptions,
  tableRanges,
} from '../../src/plan/tableRanges.ts';
import { busySessions, useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 4 });

// A cursor left open by a stopped or failed plan would show as a busy session here.
afterEach(async () => {
  expect(await busySessions(db.sql)).toBe(0);
});

async function plan(options: TableRangesOptions, on: Sql = db.sql): Promise<TableRange[]> {
  const source = tableRanges(options);
  const ranges: TableRange[] = [];
  for await (const task of source.plan({ sql: on })) {
    const range = source.input(JSON.parse(JSON.stringify(task.payload)));
    expect(task.items).toBe(range.rows);
    ranges.push(range);
  }
  return ranges;
}

/** Checks coverage from the database: each row in exactly one range, and each range's count. */
async function checkCoverage(table: string, ranges: TableRange[], where = db.sql`true`) {
  const t = db.sql(table);
  const starts = ranges.map((r) => r.start);
  const ends = ranges.map((r) => r.end);
  const [bounds] = await db.sql`
    select min(id)::text as min, max(id)::text as max, count(*)::int as n from ${t} where ${where}`;
  expect(ranges[0]?.start).toBe(bounds?.min);
  expect(ranges.at(-1)?.end).toBe(bounds?.max);
  for (const [i, range] of ranges.entries()) {
    expect(BigInt(range.start) <= BigInt(range.end)).toBe(true);
    const prev = ranges[i - 1];
    if (prev) expect(BigInt(range.start)).toBe(BigInt(prev.end) + 1n);
  }
  const counted = await db.sql`
    with r as (select s::int8 as s, e::int8 as e, i from unnest(${starts}::text[], ${ends}::text[])
      with ordinality as r(s, e, i))
    select count(t.id)::int as n from r left join ${t} t on t.id between r.s and r.e and ${where}
    group by r.i order by r.i`;
  expect(counted.map((row) => row.n)).toEqual(ranges.map((r) => r.rows));
  const [misplaced] = await db.sql`
    with r as (select s::int8 as s, e::int8 as e from unnest(${starts}::text[], ${ends}::text[]) as r(s, e))
    select count(*)::int as n from (
      select count(r.s) as hits from ${t} t left join r on t.id between r.s and r.e
      where ${where} group by t.ctid
    ) x where hits <> 1`;
  expect(misplaced?.n).toBe(0);
  expect(ranges.reduce((sum, r) => sum + r.rows, 0)).toBe(bounds?.n);
}

/** A small seeded PRNG (mulberry32), so a failing table can be rebuilt from its seed. */
function prng(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
}

const maxInt8 = 9223372036854775807n;
const bases = [-1_000_000_000_000n, 1n, 9007199254740900n, 9223372036850000000n];

/** Dense clusters of uneven density, separated by gaps of up to 10^12. */
function randomKeys(int: (lo: number, hi: number) => number): string[] {
  const keys: string[] = [];
  let next = (bases[int(0, bases.length - 1)] ?? 1n) + BigInt(int(0, 1000));
  for (let c = int(1, 8); c > 0 && next <= maxInt8; c--) {
    const step = BigInt(int(1, 3));
    for (let i = int(1, 500); i > 0 && next <= maxInt8; i--) {
      keys.push(next.toString());
      next += step;
    }
    next += BigInt(Math.floor(10 ** (int(0, 12_000) / 1000)));
  }
  return keys;
}

async function createKeys(table: string, keys: string[], type = 'bigint', unique = false) {
  await db.sql`create table ${db.sql(table)} (id ${db.sql.unsafe(type)} not null)`;
  await db.sql`insert into ${db.sql(table)} select unnest(${keys}::text[])::int8`;
  await db.sql`create ${unique ? db.sql`unique` : db.sql``} index on ${db.sql(table)} (id)`;
}

describe('coverage and balance', () => {
  test('every row is in exactly one range, over random gaps, skew and bigints', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const int = prng(seed);
      const table = `prop_${seed}`;
      // A unique index takes the row_number() path, a plain one the rank() path.
      await createKeys(table, randomKeys(int), 'bigint', seed % 2 === 0);
      for (const rowsPerRange of [1, int(2, 9), int(10, 99), int(100, 1500)]) {
        const ranges = await plan({ table, key: 'id', rowsPerRange });
        await checkCoverage(table, ranges);
        for (const range of ranges.slice(0, -1)) {
          expect(range.rows).toBeGreaterThanOrEqual(0.8 * rowsPerRange);
          expect(range.rows).toBeLessThanOrEqual(1.2 * rowsPerRange);
        }
      }
      await db.sql`drop table ${db.sql(table)}`;
    }
  });

  test('keys beyond 2^53 stay exact', async () => {
    const keys = ['1', '2', '3', '9007199254740993', '9007199254740995', '9223372036854775807'];
    await createKeys('big_keys', keys);
    expect(await plan({ table: 'big_keys', key: 'id', rowsPerRange: 3 })).toEqual([
      { start: '1', end: '9007199254740992', rows: 3 },
      { start: '9007199254740993', end: '9223372036854775807', rows: 3 },
    ]);
  });

  test('smallint keys, negative keys and a single row', async () => {
    await createKeys('small', ['-32768', '-5', '0', '7', '32767'], 'smallint');
    const ranges = await plan({ table: 'small', key: 'id', rowsPerRange: 2 });
    expect(ranges.map((r) => [r.start, r.end])).toEqual([
      ['-32768', '-1'],
      ['0', '32766'],
      ['32767', '32767'],
    ]);
    await checkCoverage('small', ranges);
  });

  test('a repeated key is never split, and counts stay exact', async () => {
    await createKeys('dups', ['1', '2', '2', '2', '2', '2', '3', '4', '5', '5', '6']);
    const ranges = await plan({ table: 'dups', key: 'id', rowsPerRange: 2 });
    await checkCoverage('dups', ranges);
    expect(ranges.map((r) => [r.start, r.rows])).toEqual([
      ['1', 1],
      ['2', 5],
      ['3', 2],
      ['5', 2],
      ['6', 1],
    ]);
  });

  test('where narrows the rows planned', async () => {
    await db.sql`create table orders (id bigint primary key, status text not null)`;
    await db.sql`insert into orders select g * 10, case when g % 3 = 0 then 'paid' else 'open' end
      from generate_series(1, 1000) g`;
    const ranges = await plan({
      table: 'orders',
      key: 'id',
      rowsPerRange: 50,
      where: (s) => s`status = ${'paid'}`,
    });
    expect(ranges).toHaveLength(7);
    expect(ranges.slice(0, -1).every((r) => r.rows === 50)).toBe(true);
    await checkCoverage('orders', ranges, db.sql`status = ${'paid'}`);

    // Ranges of 100 rows or more are planned by index probes, which must apply `where` too.
    const probed = await plan({
      table: 'orders',
      key: 'id',
      rowsPerRange: 100,
      where: (s) => s`status = ${'paid'}`,
    });
    expect(probed.map((r) => r.rows)).toEqual([100, 100, 100, 33]);
    await checkCoverage('orders', probed, db.sql`status = ${'paid'}`);
  });

  test('an empty table, or no rows matching where, plans nothing', async () => {
    await db.sql`create table empty (id int primary key)`;
    expect(await plan({ table: 'empty', key: 'id', rowsPerRange: 10 })).toEqual([]);
    const none = (s: Sql) => s`status = ${'refunded'}`;
    expect(await plan({ table: 'orders', key: 'id', rowsPerRange: 10, where: none })).toEqual([]);
  });

  test('quoted names work and a stopped plan frees its connection', async () => {
    await db.sql`create schema ${db.sql('Shop')}`;
    await db.sql`create table ${db.sql.unsafe('"Shop"."Odd ""Table"""')} ("Key Col" int primary key)`;
    await db.sql`insert into ${db.sql.unsafe('"Shop"."Odd ""Table"""')} select generate_series(1, 5000)`;
    const one = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const source = tableRanges({ table: 'Shop.Odd "Table"', key: 'Key Col', rowsPerRange: 1 });
      for await (const task of source.plan({ sql: one })) {
        expect(task.payload).toEqual({ start: '1', end: '1', rows: 1 });
        break;
      }
      expect(await one`select 1 as ok`).toEqual([{ ok: 1 }]);
    } finally {
      await one.end();
    }
  });
});

describe('refusals', () => {
  test('each refusal is one InputError naming the thing, thrown before anything is planned', async () => {
    await db.sql`create table plain (id int, other int, name text, gappy bigint)`;
    await db.sql`insert into plain values (1, 1, 'a', 1), (2, 2, 'b', null)`;
    await db.sql`create index on plain (other, id)`;
    await db.sql`create index on plain using hash (name)`;
    await db.sql`create index on plain (gappy)`;
    await db.sql`create view plain_view as select * from plain`;
    const catalog = () =>
      db.sql`select relname, relkind from pg_class where relnamespace = 'public'::regnamespace order by 1`;
    const before = await catalog();
    const refusals: [Partial<TableRangesOptions>, RegExp][] = [
      [{ table: 'nope' }, /table `nope` does not exist/],
      [{ table: 'Plain' }, /table `Plain` does not exist/],
      [{ table: 'nosuch.plain' }, /table `nosuch.plain` does not exist/],
      [{ table: 'x"; drop table plain; --' }, /does not exist/],
      [{ table: 'plain_view' }, /`plain_view` is not a table/],
      [{ key: 'missing' }, /column `missing` does not exist in table `plain`/],
      [{ key: 'name' }, /`name` is text; tableRanges needs a smallint, integer or bigint key/],
      [{ key: 'id' }, /needs a btree index .*`create index on plain \(id\)`/],
      [{ key: 'gappy' }, /column `gappy` has NULLs/],
    ];
    for (const [options, pattern] of refusals) {
      const source = tableRanges({ table: 'plain', key: 'id', rowsPerRange: 10, ...options });
      const yielded: unknown[] = [];
      const error = await (async () => {
        for await (const task of source.plan({ sql: db.sql })) yielded.push(task);
      })().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect(String((error as Error).message)).toMatch(pattern);
      expect((error as Error).message).not.toContain('\n');
      expect(yielded).toEqual([]);
    }
    expect(await catalog()).toEqual(before);
  });

  test('a `where` the server refuses is one InputError naming the source; a lost connection is not', async () => {
    await db.sql`create table strict (id int primary key, n int not null)`;
    await db.sql`insert into strict select g, g from generate_series(1, 30) g`;
    const firstError = async (source: ReturnType<typeof tableRanges>, on: Sql = db.sql) => {
      const yielded: unknown[] = [];
      const error = await (async () => {
        for await (const task of source.plan({ sql: on })) yielded.push(task);
      })().catch((e: unknown) => e);
      expect(yielded).toEqual([]);
      return error as Error;
    };
    const refusals: [TableRangesOptions['where'], string][] = [
      [(s) => s`nosuch = 1`, 'column "nosuch" does not exist'],
      [(s) => s`id =`, 'syntax error at or near ")"'],
      [(s) => s`nosuch_fn(id)`, 'function nosuch_fn(integer) does not exist'],
      [(s) => s`id = ${'abc'}`, 'invalid input syntax for type integer: "abc"'],
      [(s) => s`id / 0 = 1`, 'division by zero'],
    ];
    // `strict` has a NOT NULL key, so the walk runs the where first; `plain.other` is nullable,
    // so the NULL check does.
    for (const [table, key] of [
      ['strict', 'id'],
      ['plain', 'other'],
    ] as const) {
      for (const [where, reason] of refusals) {
        const error = await firstError(tableRanges({ table, key, rowsPerRange: 10, where }));
        expect(error).toBeInstanceOf(InputError);
        expect(error.message).toBe(
          `The \`where\` of tableRanges(${table}.${key}) failed: ${reason}`,
        );
      }
    }
    // A cancelled query and a dropped connection are not the fragment's fault: they pass through.
    const cancelled = await firstError(
      tableRanges({
        ...{ table: 'strict', key: 'id', rowsPerRange: 10 },
        where: (s) => s`pg_cancel_backend(pg_backend_pid()) and pg_sleep(0.2) is not null`,
      }),
    );
    expect(cancelled).not.toBeInstanceOf(InputError);
    expect(cancelled).toMatchObject({ code: '57014' });
    const own = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const dropped = await firstError(
        tableRanges({
          ...{ table: 'strict', key: 'id', rowsPerRange: 10 },
          where: (s) => s`pg_terminate_backend(pg_backend_pid())`,
        }),
        own,
      );
      expect(dropped).not.toBeInstanceOf(InputError);
      expect(dropped).toHaveProperty('code');
    } finally {
      await own.end({ timeout: 0 });
    }
  });

  test('NULL keys outside where are no obstacle', async () => {
    const notNull = (s: Sql) => s`gappy is not null`;
    expect(await plan({ table: 'plain', key: 'gappy', rowsPerRange: 1, where: notNull })).toEqual([
      { start: '1', end: '1', rows: 1 },
    ]);
  });

  test('bad options are refused at once in the standard form', () => {
    const base = { table: 'orders', key: 'id', rowsPerRange: 10 };
    for (const [value, shown] of [
      [0, '`0` (number)'],
      [-1, '`-1` (number)'],
      [1.5, '`1.5` (number)'],
      ['10', '`"10"` (string)'],
    ] as const) {
      expect(() => tableRanges({ ...base, rowsPerRange: value as number })).toThrow(
        new InputError(`Expected \`rowsPerRange\` to be a whole number >= 1, got ${shown}`),
      );
    }
    for (const table of ['', 'a.b.c', 'a..b']) {
      expect(() => tableRanges({ ...base, table })).toThrow(/Expected `table` to be a table name/);
    }
    expect(() => tableRanges({ ...base, key: '' })).toThrow(/Expected `key` to be a column name/);
    const where = 'status = paid' as unknown as TableRangesOptions['where'];
    expect(() => tableRanges({ ...base, where })).toThrow(/Expected `where` to be a function/);
  });
});

describe('identity', () => {
  test('describe, unit and a fingerprint that follows the plan-shaping options', () => {
    const base = { table: 'shop.orders', key: 'id', rowsPerRange: 10 };
    const source = tableRanges(base);
    expect(source.describe).toBe('tableRanges(shop.orders.id)');
    expect(source.unit).toBe('rows');
    expect(source.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(tableRanges({ ...base }).fingerprint).toBe(source.fingerprint);
    const others = [
      { ...base, rowsPerRange: 11 },
      { ...base, table: 'orders' },
      { ...base, key: 'order_id' },
      { ...base, where: (s: Sql) => s`status = ${'paid'}` },
    ];
    for (const other of others) expect(tableRanges(other).fingerprint).not.toBe(source.fingerprint);
  });

  test('input rebuilds a range and refuses a damaged payload', () => {
    const source = tableRanges({ table: 'orders', key: 'id', rowsPerRange: 10 });
    const range = { start: '-5', end: '9223372036854775807', rows: 3 };
    expect(source.input(range)).toEqual(range);
    expect(() => source.input({ start: 1, end: '2', rows: 1 })).toThrow(InputError);
    expect(() => source.input(null)).toThrow(/Expected `payload` to be a table range/);
  });
});
